"""Configuration validation (workflow/scripts/config_validation.py), called directly: every class of bad value
(type, range, non-finite, order, relation, name, bound) fails naming the dotted key and what is allowed, the
default configuration passes at every preset, user values win over the preset, --config text is read as YAML.

The same validation runs inside snakemake before any job starts (tests/test_workflow.py runs a few cases through
real snakemake invocations); here the many cases cost milliseconds each.
"""

import ast
import importlib.util
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _load():
    spec = importlib.util.spec_from_file_location("learndyn_config_validation_test",
                                                  REPO / "workflow" / "scripts" / "config_validation.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


cv = _load()
BASE = cv.load_raw()   # config/, as the workflow reads it


def _problems(user: dict) -> list[str]:
    """Problems of config/ overridden by ``user`` (as an extra --configfile), [] if valid."""
    try:
        cv.resolve(cv.deep_merge(BASE, user), user)
    except cv.ConfigError as exc:
        return exc.problems
    return []


def _at(path: str, value):
    """``{"a": {"b": value}}`` from ``"a.b"``."""
    out = value
    for part in reversed(path.split(".")):
        out = {part: out}
    return out


NAN, INF = float("nan"), float("inf")

# (class, dotted key overridden, bad value, extra overrides, key the single problem must name)
CASES = [
    # types and ranges (JSON schemas)
    ("type", "paper_a.fig1.n_steps", "many", {}, None),
    ("type", "resources.gpu", "yes", {}, None),
    ("type", "paper_b.fig2.rows.default.epochs", 1.5, {}, None),
    ("range", "paper_a.fig2.sweep.n_etas", 1, {}, None),
    ("range", "batches.a2_sweep", 0, {}, None),
    ("range", "batches.b5_grid", 1001, {}, None),
    ("range", "paper_a.fig1.learning_rate", -0.1, {}, None),
    ("range", "paper_c.fig2.ode_rtol", 1e-3, {}, None),
    ("enum", "paper_a.fig1.d_variant", "maybe", {}, None),
    ("enum", "paper_b.fig9.relaxed_checks", ["r_al"], {}, "paper_b.fig9.relaxed_checks.0"),
    ("unknown key", "paper_a.fig1.n_stepz", 5, {}, "paper_a.fig1"),
    # non-finite numbers (YAML .nan / .inf), which the schemas' ranges let through
    ("non-finite", "paper_a.fig1.learning_rate", NAN, {}, None),
    ("non-finite", "paper_a.fig2.sweep.tol", INF, {}, None),
    ("non-finite", "paper_c.fig1.lambdas", [-10.0, NAN, 10.0], {}, "paper_c.fig1.lambdas.1"),
    ("non-finite", "paper_b.fig5.checks.pearson", -INF, {}, None),
    ("non-finite", "paper_b.fig2.rows.skip.gain", INF, {}, None),
    # ordered ranges
    ("order", "paper_a.fig2.sweep.eta_min", 0.1, {}, None),
    ("order", "paper_a.fig2.sweep.dim_range", [50, 2], {}, None),
    ("order", "paper_a.fig2.sweep.sigma_range", [0.5, 0.01], {}, None),
    ("order", "paper_a.fig2.sweep.min_steps", 30000, {}, None),
    ("order", "paper_a.fig5.runs.dim_range", [30, 2], {}, None),
    ("order", "paper_a.fig8.gaussian_gain.min", 0.9, {}, None),
    ("order", "paper_a.fig9.sigmas", [2.0, 0.3, 0.001], {}, None),
    ("order", "paper_a.fig4.runs.sigmas", [0.1, 1.0e-7, 5.0], {}, None),
    ("order", "paper_b.fig2.fit_grid.min_exp", 3, {}, None),
    ("order", "paper_b.fig5.checks.slope_min", 1.5, {}, None),
    ("order", "paper_c.fig3.threshold_margins", [1.02, 0.98], {}, None),
    ("order", "paper_c.fig4.grid.log_min", 4.0, {}, None),
    ("order", "paper_a.fig1.check_learning_rate", 0.5, {}, None),
    # relations the code assumes
    ("relation", "paper_a.fig1.n_samples", 5, {}, None),                    # N <= Ni: no whitening
    ("relation", "paper_a.fig2.ab.n_in", 10, {}, "paper_a.fig2.ab.n_samples"),
    ("relation", "paper_c.fig7.n_samples", 4, {}, None),
    ("relation", "paper_a.fig5.runs.n_samples", 30, {}, None),             # <= the widest input of the draws
    ("relation", "paper_a.fig1.n_items", 11, {}, None),
    ("relation", "paper_a.fig1.n_hidden", 1, {}, None),                     # bottleneck
    ("relation", "paper_a.fig8.n_hidden", 6, {}, None),
    ("relation", "paper_c.fig5.n_hidden", 9, {}, None),                     # lambda = +-10 needs Nh = 8
    ("relation", "paper_c.fig4.n_hidden", 5, {}, None),
    ("relation", "paper_c.fig1.item", 10, {}, None),
    ("relation", "paper_a.fig6.reversal.check_steps", 9000, {}, None),
    ("relation", "paper_a.fig5.a.plot_every", 7000, {}, None),
    ("relation", "paper_a.fig7.record_every", 1000, {"paper_a": {"fig7": {"dense_every": 3}}}, None),
    ("relation", "paper_a.fig2.sweep.d_steps", 30000, {}, None),
    ("relation", "paper_a.fig2.sweep.n_picks", 400, {}, None),
    ("relation", "paper_c.fig7.excess_time", 500.0, {}, None),
    ("relation", "paper_c.fig8.colour.snapshot_every", 600, {}, None),
    ("relation", "paper_a.fig9.reference.learning_rates", [1e-4, 0.1, 2e-5], {}, None),
    ("relation", "batches.a4_runs", 10, {}, None),
    ("relation", "paper_b.fig2.rows.default.observe", 20, {}, None),
    ("relation", "paper_b.fig2.rows.convolution.width", 100, {}, None),
    ("relation", "paper_b.fig8.observe", 4, {}, None),
    ("relation", "paper_b.fig7.draw.examples", [[0, 30]], {}, None),
    ("relation", "paper_b.fig10.checks.eta_y_peak_lo", 16, {}, None),
    ("relation", "paper_b.mnist.n_theory", 50, {}, None),
    ("relation", "paper_b.fig16.batch_size", 3000, {"paper_b": {"fig16": {"n_train": 2000}}}, None),
    # names that must exist
    ("name", "batches.a2_swep", 2, {}, None),                               # fits the key pattern, no such rule
    ("name", "paper_b.fig5.architectures", ["default", "defualt"], {}, None),
    ("name", "paper_b.fig2.relaxed_checks", ["converged_los"], {}, None),
    ("name", "paper_b.fig5.relaxed_checks", ["converged_fraction"], {}, None),   # a threshold, but never relaxed
    ("name", "paper_b.fig2.noisy_rows", ["dropot"], {}, None),
    ("name", "paper_b.fig3.failing_row", "extreme", {}, None),
    ("name", "paper_b.fig6.panels", {"low": "low", "intermediate": "intermediate", "high": "hgh",
                                     "two_layer": "two_layer"}, {}, None),
    ("name", "paper_b.fig14.rates_architecture", "deafult", {}, None),
    ("name", "paper_b.fig13.sgd_reference", "sgd", {}, None),
    # sane upper bounds on step counts
    ("bound", "paper_a.fig7.max_steps", 10**12, {}, None),
    ("bound", "paper_a.fig2.ab.n_steps", 10**7, {}, None),
    ("bound", "paper_b.fig5.max_epochs", 10**9, {}, None),
    ("bound", "paper_c.fig3.n_plot_points", 10**9, {}, None),
    ("bound", "paper_a.fig2.sweep.n_networks", 10**9, {}, None),
    ("bound", "paper_a.fig8.balanced_gain.n", 10**9, {}, None),
    ("bound", "paper_c.fig6.n_samples", 10**9, {}, None),
    ("bound", "paper_b.fig2.mean_grid.max_exp", 1000, {}, None),
    ("bound", "paper_c.fig3.t_max", 1e9, {}, None),                        # t_max / s / eta steps, each stored
    ("bound", "paper_a.fig9.reference.t_max", 1e6, {}, None),
    ("bound", "paper_a.fig1.check_learning_rate", 1e-9, {}, None),
]


@pytest.mark.parametrize("kind, key, value, extra, named", CASES, ids=[f"{c[0]}:{c[1]}" for c in CASES])
def test_each_bad_value_fails_naming_its_key(kind, key, value, extra, named):
    found = _problems(cv.deep_merge(extra, _at(key, value)))
    assert len(found) == 1, found                      # breaks exactly one rule
    assert found[0].startswith(f"config key '{named or key}'"), found
    assert "; allowed: " in found[0], found


@pytest.mark.parametrize("scale", ["full", "smoke"])
def test_the_default_configuration_is_valid_and_every_rule_applies(scale):
    cfg, notes = cv.resolve(dict(BASE, scale=scale))
    assert notes == []
    found, applied = cv.rule_problems(cfg)
    assert found == []
    idle = [(cv.RULES[i].scope, cv.RULES[i].key) for i, n in applied.items() if n == 0]
    assert idle == [], f"rules that never apply to config/ (a wrong scope or key?): {idle}"


def test_errors_at_smoke_scale_name_the_preset():
    """The smoke preset is validated too, and a user's (wrong) list is not replaced by the preset's."""
    with pytest.raises(cv.ConfigError) as exc:
        user = {"scale": "smoke", "paper_b": {"fig5": {"architectures": ["defualt"]}}}
        cv.resolve(cv.deep_merge(BASE, user), user)
    assert any(p.startswith("config key 'paper_b.fig5.architectures'") for p in exc.value.problems)


def test_user_values_win_over_the_preset_with_a_note():
    user = {"scale": "smoke", "batches": {"a2_sweep": 3},
            "paper_a": {"fig2": {"sweep": {"n_networks": 3, "n_etas": 3}}},          # n_etas: same as the preset
            "paper_b": {"fig5": {"architectures": ["shallow", "narrow"]}}}
    cfg, notes = cv.resolve(cv.deep_merge(BASE, user), user)
    assert cfg["batches"]["a2_sweep"] == 3 and cfg["batches"]["a8_sweep"] == 2          # the rest: the preset's
    assert cfg["paper_a"]["fig2"]["sweep"]["n_networks"] == 3
    assert cfg["paper_a"]["fig2"]["sweep"]["max_steps"] == 3000                         # preset, not given
    assert cfg["paper_b"]["fig5"]["architectures"] == ["shallow", "narrow"]
    assert len(notes) == 3, notes
    assert any("'paper_a.fig2.sweep.n_networks': your value 3" in n and "value 4 of preset 'smoke'" in n for n in notes)
    assert not any("n_etas" in n for n in notes)


def test_a_user_value_that_breaks_a_relation_only_with_the_preset_is_rejected():
    """n_picks 13 <= 50 x 7 at full scale, but > 4 x 3 with the smoke preset's sweep: the user's value is used
    (not silently replaced by the preset's 3), so the smoke run is rejected."""
    user = {"scale": "smoke", "paper_a": {"fig2": {"sweep": {"n_picks": 13}}}}
    with pytest.raises(cv.ConfigError) as exc:
        cv.resolve(cv.deep_merge(BASE, user), user)
    assert exc.value.where.startswith("config/ with preset 'smoke'")
    assert [p[:40] for p in exc.value.problems] == ["config key 'paper_a.fig2.sweep.n_picks':"]


def test_command_line_text_is_read_as_yaml_where_the_schema_wants_no_text():
    # what snakemake's --config parser (YAML BaseLoader) makes of 'batches={a2_sweep: 2}' and friends
    cli = {"scale": "smoke", "batches": {"a2_sweep": "2"},
           "paper_a": {"fig1": {"learning_rate": "1.0e-2", "sigmas": ["0.01", "0.2", ".inf"], "d_variant": "code"},
                       "fig3": {"exact_overlay": "false"}},
           "paper_b": {"mnist": {"mnist_dir": "123"}, "fig4": {"n_train": "null", "draw": {"scale_note": "2"}}}}
    out = cv.coerce_cli(cli)
    assert out["batches"]["a2_sweep"] == 2
    assert out["paper_a"]["fig1"]["learning_rate"] == 0.01
    assert out["paper_a"]["fig1"]["sigmas"][:2] == [0.01, 0.2] and out["paper_a"]["fig1"]["sigmas"][2] == float("inf")
    assert out["paper_a"]["fig1"]["d_variant"] == "code"
    assert out["paper_a"]["fig3"]["exact_overlay"] is False
    assert out["paper_b"]["mnist"]["mnist_dir"] == "123"           # the schema wants text: kept
    assert out["paper_b"]["fig4"]["n_train"] is None and out["paper_b"]["fig4"]["draw"]["scale_note"] == "2"


def test_a_bad_nested_command_line_value_points_to_configfile():
    user = cv.coerce_cli({"batches": {"a2_sweep": "two"}})
    with pytest.raises(cv.ConfigError) as exc:
        cv.resolve(cv.deep_merge(BASE, user), user, [("batches", "a2_sweep")])
    assert exc.value.problems[0].startswith("config key 'batches.a2_sweep'")
    assert "--configfile" in str(exc.value)


def test_batch_keys_are_the_batched_rules_of_the_workflow():
    from learndyn.figures import registry  # the generated rules: one per declared step

    steps = [s for _, s in registry.steps()]
    assert cv.batched_rules() == set(BASE["batches"]) == {s.batch for s in steps if s.batch}
    assert cv.batched_rules() <= {s.name for s in steps}  # a batch key is named after one of its rules


def _relaxed_literals(path: Path) -> set[str]:
    """String keys passed to relaxed(...) / _relaxed(...) in a figure module (after the cfg and label)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call):
            name = getattr(node.func, "attr", getattr(node.func, "id", ""))
            if name in ("relaxed", "_relaxed"):
                out |= {a.value for a in node.args[2:] if isinstance(a, ast.Constant) and isinstance(a.value, str)}
    return out


def test_relaxable_checks_match_the_figures():
    figs = {f for f, c in BASE["paper_b"].items() if isinstance(c, dict) and "relaxed_checks" in c}
    assert figs == set(cv.RELAXABLE)
    for fig, names in cv.RELAXABLE.items():
        c = BASE["paper_b"][fig]
        assert names <= set(c["checks"]) | set(c.get("checks_proxy", {})), fig
        module = REPO / "src" / "learndyn" / "figures" / "paper_b" / f"{fig}.py"
        assert _relaxed_literals(module) <= names, fig


def test_lambda_width_rule_agrees_with_the_core():
    from learndyn import lambda_balanced as lb
    for ni, no in ((3, 3), (4, 6), (6, 4)):
        for lam in (-2.0, 0.0, 2.0):
            assert cv._lambda_widths(ni, no, [lam]) == lb.hidden_width_range(lam, ni, no)
