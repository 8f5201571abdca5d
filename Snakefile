# learndyn: reproduce the figures of three papers on the learning dynamics of neural networks.
#   snakemake --cores 16                     every figure at the papers' scale
#   snakemake --cores 2 fig_a2               one figure
#   snakemake --cores 2 --config scale=smoke every figure in seconds (tests, CI)
from snakemake.utils import min_version

min_version("9.0")


# the configuration: config/config.yaml, config/paper_{a,b,c}.yaml and the presets in config/presets/ (read and
# validated in common.smk before any job starts; --configfile / --config values win over them)
include: "workflow/rules/common.smk"
# the MNIST files of paper B (copied or downloaded, verified)
include: "workflow/rules/mnist.smk"
# every figure: rules generated from each figure module's declaration (learndyn.figures.registry)
include: "workflow/rules/figures.smk"
# the reproduction report (snakemake --report): claims tables assembled from every figure above
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        ALL_TARGETS,


# the full-scale results record (snakemake record -> docs/results/): checks, provenance and machine of each figure
include: "workflow/rules/record.smk"
