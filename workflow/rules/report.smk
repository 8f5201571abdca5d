# The reproduction report (`snakemake --report report.html`): every figure's PNG is registered in
# figure_files (common.smk) with its caption in workflow/report/<paper>/<fig>.rst; this file adds the
# claims tables, assembled from the acceptance checks of every figure in ALL_TARGETS (so it is included
# after all paper_*.smk), and the report's front page.
report: "../report/workflow.rst"


CLAIMS_DIR = RESULTS / "claims"
CLAIMS_CHECKS = [f for f in ALL_TARGETS if str(f).endswith("_checks.tsv")]


localrules:
    claims,


rule claims:
    input:
        checks=CLAIMS_CHECKS,
        core=core_deps("learndyn.report"),
    output:
        **{
            f"{p}_{ext}": report(
                str(CLAIMS_DIR / f"{p}_claims.{ext}"),
                caption="../report/claims.rst",
                category=PAPERS[p]["title"],
                subcategory="Claims (acceptance checks)",
            )
            for p in PAPERS
            for ext in ("html", "png")
        },
        parquet=str(RESULTS / "claims.parquet"),
        summary=report(
            str(CLAIMS_DIR / "claims_summary.html"),
            caption="../report/claims_summary.rst",
            category="All papers — claims summary",
            subcategory="Claims of every paper",
        ),
    log:
        LOGS / "claims.log",
    conda:
        "../../envs/learndyn.yaml"
    params:
        papers=PAPERS,
        scale=config["scale"],
    script:
        "../scripts/claims.py"


ALL_TARGETS.extend(rules.claims.output)
# rule all needs the files, not their report registration: the report attributes a registered file to the
# first job listing it (rule all comes first), and it should be the rule that makes it (its parameters)
ALL_TARGETS[:] = [str(f) for f in ALL_TARGETS]
