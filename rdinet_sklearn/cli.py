"""``rdinet``: the study from the command line (argument parsing only; work is in ``study/``)."""

from __future__ import annotations

import argparse
import logging
import sys

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_BAD_INPUT = 0, 1, 2, 3


def _study_options(parser):
    parser.add_argument("--out", required=True, help="output folder (reused to resume)")
    parser.add_argument("--config", help="YAML file of settings applied over the preset")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one setting, e.g. --set deep.max_epochs=5 (repeatable)",
    )
    parser.add_argument("--device", help="torch device for the networks: auto, cpu, cuda, cuda:1")
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")


def build_parser():
    parser = argparse.ArgumentParser(
        prog="rdinet",
        description="Predict treatment response from MRI with radiomics, 3D CNNs and RDINet.",
        epilog="Exit codes: 0 done, 1 failed, 2 usage error, 3 bad input (case table, config).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser(
        "demo",
        help="run the study on the built-in synthetic cohort",
        description="Generate the synthetic TED cohort (once) and run the whole study on it; "
        "the preset is 'paper' on a CUDA machine and 'quick' otherwise.",
    )
    _study_options(demo)
    demo.add_argument("--patients", type=int, default=147, help="cohort size (default 147)")
    demo.add_argument("--preset", default="demo", choices=["demo", "quick", "paper"])

    study = commands.add_parser(
        "study",
        help="run the study design on your cohort",
        description="Stratified 4:1 split, CV tuning in training, testing, tables, figures, "
        "fitted models and an HTML report.",
    )
    study.add_argument("--cases", required=True, help="case table CSV (image, mask, ...)")
    study.add_argument("--target", required=True, help="outcome column of the case table")
    study.add_argument("--preset", default="quick", choices=["quick", "paper", "demo"])
    _study_options(study)

    extract = commands.add_parser(
        "extract",
        help="extract radiomics features to a table",
        description="pyradiomics features of one ROI for every case, cached.",
    )
    extract.add_argument("--cases", required=True, help="case table CSV")
    extract.add_argument("--roi", nargs="+", required=True, help="structure names, e.g. MR LR")
    extract.add_argument("--out", required=True, help="output .parquet or .csv file")
    extract.add_argument("--params", default="study", help="preset name or pyradiomics YAML")
    extract.add_argument("--labels", help='label map as YAML, e.g. "{tumor: 1}"')
    extract.add_argument("--reference-mask-column", help="second rater's mask column")
    extract.add_argument("--cache", help="cache folder (default: none)")
    extract.add_argument("--n-jobs", type=int, default=None)

    validate = commands.add_parser("validate", help="check a case table and list every problem")
    validate.add_argument("--cases", required=True)
    validate.add_argument("--labels", help='label map as YAML, e.g. "{tumor: 1}"')
    validate.add_argument("--reference-mask-column")
    return parser


def _config(args):
    from .study import make_config

    overrides = list(args.overrides)
    if args.device:
        overrides.append(f"deep.device={args.device}")
    return make_config(args.preset, config_file=args.config, overrides=overrides)


def _labels(text):
    import yaml

    return None if text is None else yaml.safe_load(text)


def _run(args):
    from .study import run_study

    if args.command == "demo":
        from .datasets import make_ted_cohort

        config = _config(args)
        cases, y = make_ted_cohort(args.patients, f"{args.out}/cohort", random_state=config["seed"])
        results = run_study(cases, y, config=config, out=args.out, progress=not args.no_progress)
    elif args.command == "study":
        config = _config(args)
        results = run_study(
            args.cases,
            target=args.target,
            config=config,
            out=args.out,
            progress=not args.no_progress,
        )
    elif args.command == "extract":
        return _extract(args)
    else:
        from . import validate_case_table

        table = validate_case_table(
            args.cases,
            labels=_labels(args.labels),
            reference_mask_column=args.reference_mask_column,
        )
        print(f"{args.cases}: {len(table)} cases, no problems found")
        return EXIT_OK
    print(_summary(results))
    print(f"report: {args.out}/report.html")
    return EXIT_OK


def _summary(results):
    """Test-cohort AUC (95% CI) per model in Table 2, one line each."""
    lines = ["test-cohort AUC (95% CI):"]
    for row in results["table2"]:
        if row["cohort"] == "test" and row["metric"] == "AUC":
            interval = f"({row['ci_low']:.2f}-{row['ci_high']:.2f})"
            lines.append(f"  {row['model']:<32} {row['value']:.3f} {interval}")
    return "\n".join(lines)


def _extract(args):
    from . import read_case_table
    from .radiomics import RadiomicsExtractor

    cases = read_case_table(args.cases)
    roi = tuple(args.roi) if len(args.roi) > 1 else args.roi[0]
    extractor = RadiomicsExtractor(
        roi=roi,
        labels=_labels(args.labels),
        params=args.params,
        reference_mask_column=args.reference_mask_column,
        memory=args.cache,
        n_jobs=args.n_jobs,
    ).set_output(transform="pandas")
    features = extractor.fit_transform(cases)
    if args.out.endswith(".parquet"):
        features.to_parquet(args.out)
    else:
        features.to_csv(args.out)
    print(f"{args.out}: {features.shape[0]} cases x {features.shape[1]} features")
    return EXIT_OK


def main(argv=None):
    """Entry point of the ``rdinet`` command; returns the exit code."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="rdinet: %(message)s")
    from ._cases import CaseTableError
    from ._imaging import CaseError

    try:
        return _run(args)
    except (CaseTableError, CaseError, FileNotFoundError, ValueError) as error:
        print(f"rdinet: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("rdinet: interrupted; rerun the same command to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
