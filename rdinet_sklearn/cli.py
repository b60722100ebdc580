"""``rdinet``: the study from the command line (argument parsing only; work is in ``study/``).

Exit codes:

* 0: done;
* 1: internal error: one line on stderr naming a log file that holds the traceback;
* 2: usage error (an unknown option, ``--labels`` that is not a YAML mapping, a ``--set``
  that is not ``key=value``): one line on stderr;
* 3: bad input: a case table, image, label map or setting that cannot be used, with the
  message that names the row, file or setting;
* 130: interrupted (rerun the same command to resume a study).

A subcommand is a function that adds its parser (``_add_<name>``) and a handler that takes
the parsed arguments and returns the exit code; :data:`COMMANDS` lists the parser functions.
Only argparse, logging and the standard library load before a handler runs, so ``--help``
and ``--version`` start instantly.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import sys
import tempfile
import traceback

from .exceptions import RdinetInputError

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_BAD_INPUT = 0, 1, 2, 3
EXIT_INTERRUPTED = 130
DEFAULT_ID_COLUMN = "patient_id"
"""The patient-id column the study reads by default (its ``id_column`` setting)."""
RADIOMICS_PRESETS = ("study", "original", "baseline", "ibsi")
"""``--params`` presets, spelled out here so that ``--help`` imports no pyradiomics (a test
keeps the list equal to :data:`rdinet_sklearn.radiomics.PRESETS`)."""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line usage errors (exit 2), for every subcommand too."""

    def error(self, message):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _label_map(text):
    """``--labels``: a YAML mapping of ROI names to label values or structure names.

    A value is an integer label (label maps, or a structure number), a structure name as
    stored in an RTSTRUCT / DICOM-SEG, or ``re:<pattern>``.
    """
    import yaml

    try:
        labels = yaml.safe_load(text)
    except yaml.YAMLError:
        labels = None
    if not (
        isinstance(labels, dict)
        and labels
        and all(
            (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, str) and v)
            for v in labels.values()
        )
    ):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a YAML mapping of structure names to label values, "
            'e.g. "{tumor: 1}", "{MR: 3, LR: 4}" or "{mass: \'re:GTV_Mass.*\'}"'
        )
    return {str(name): value for name, value in labels.items()}


def _override(text):
    """``--set``: ``section.key=value`` with a YAML value."""
    from .study._config import ConfigError, parse_override

    try:
        parse_override(text)
    except ConfigError as error:
        raise argparse.ArgumentTypeError(str(error)) from error
    return text


def _study_options(parser):
    parser.add_argument("--out", required=True, help="output folder (reused to resume)")
    parser.add_argument("--config", help="YAML file of settings applied over the preset")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        type=_override,
        metavar="KEY=VALUE",
        help="override one setting, e.g. --set deep.max_epochs=5 (repeatable)",
    )
    parser.add_argument("--device", help="torch device for the networks: auto, cpu, cuda, cuda:1")
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")


def _add_demo(commands):
    demo = commands.add_parser(
        "demo",
        help="run the study on the built-in synthetic cohort",
        description="Generate the synthetic TED cohort (once) and run the whole study on it; "
        "the preset is 'paper' on a CUDA machine and 'quick' otherwise.",
    )
    _study_options(demo)
    demo.add_argument("--patients", type=int, default=147, help="cohort size (default 147)")
    demo.add_argument("--preset", default="demo", choices=["demo", "quick", "paper"])
    demo.add_argument(
        "--shape",
        type=int,
        nargs=3,
        metavar=("SLICES", "ROWS", "COLS"),
        help="image array shape of the cohort (default 20 128 224; e.g. 8 48 96 for a quick try)",
    )
    demo.set_defaults(handler=_demo)


def _add_study(commands):
    study = commands.add_parser(
        "study",
        help="run the study design on your cohort",
        description="Stratified 4:1 split, CV tuning in training, testing, tables, figures, "
        "fitted models and an HTML report.",
    )
    study.add_argument("--cases", required=True, help="case table CSV (image, mask, ...)")
    study.add_argument("--target", required=True, help="outcome column of the case table")
    study.add_argument("--preset", default="quick", choices=["quick", "paper", "demo"])
    study.add_argument(
        "--test-cases",
        help="external test cohort's case table CSV (with the target column), replacing "
        "the random 4:1 split: every case of --cases trains",
    )
    study.add_argument(
        "--group-column",
        metavar="COLUMN",
        help="case-table column (e.g. center): cross-validate in training leave-one-group-out "
        "over it (leave-one-center-out) instead of stratified k-fold",
    )
    _study_options(study)
    study.set_defaults(handler=_study)


def _add_extract(commands):
    extract = commands.add_parser(
        "extract",
        help="extract radiomics features to a table",
        description="pyradiomics features of one ROI for every case, cached.",
    )
    extract.add_argument("--cases", required=True, help="case table CSV")
    extract.add_argument("--roi", nargs="+", required=True, help="structure names, e.g. MR LR")
    extract.add_argument("--out", required=True, help="output .parquet or .csv file")
    extract.add_argument(
        "--params",
        default="study",
        help=f"preset ({', '.join(RADIOMICS_PRESETS)}) or pyradiomics YAML",
    )
    extract.add_argument("--labels", type=_label_map, help='label map, e.g. "{tumor: 1}"')
    extract.add_argument("--reference-mask-column", help="second rater's mask column")
    _id_option(extract)
    extract.add_argument("--cache", help="cache folder (default: none)")
    extract.add_argument("--n-jobs", type=int, default=None)
    extract.set_defaults(handler=_extract)


def _add_validate(commands):
    validate = commands.add_parser("validate", help="check a case table and list every problem")
    validate.add_argument("--cases", required=True)
    validate.add_argument("--labels", type=_label_map, help='label map, e.g. "{tumor: 1}"')
    validate.add_argument("--reference-mask-column")
    _id_option(validate)
    validate.set_defaults(handler=_validate)


def _id_option(parser):
    parser.add_argument(
        "--id-column",
        help=f"column of patient ids, named in every problem and kept in the output "
        f"(default: {DEFAULT_ID_COLUMN!r} when the table has it, else the row number)",
    )


def _add_index(commands):
    index = commands.add_parser(
        "index",
        help="crawl a DICOM folder into a case table",
        description="One row per image series that an RTSTRUCT or DICOM-SEG segments; what "
        "is skipped, and why, goes to <out>_skipped.csv.",
    )
    index.add_argument("--dicom", required=True, help="folder of DICOM files (recursive)")
    index.add_argument("--out", required=True, help="case table CSV to write")
    index.add_argument("--modality", help="keep only image series of this modality, e.g. MR")
    index.add_argument(
        "--roi-map",
        type=_label_map,
        help="ROI names to structure names; a file lacking one is skipped, e.g. "
        "\"{mass: 're:GTV_Mass.*'}\"",
    )
    index.set_defaults(handler=_index)


def _add_predict(commands):
    predict = commands.add_parser(
        "predict",
        help="apply a study's model to new cases",
        description="One row per case: patient id, probability, the study's operating "
        "threshold and the predicted class. MODEL is a folder <study>/models/<name>.",
    )
    predict.add_argument("--model", required=True, help="model folder, e.g. results/demo/models/X")
    predict.add_argument("--cases", required=True, help="case table CSV of the new cases")
    predict.add_argument("--out", required=True, help="predictions CSV to write")
    predict.add_argument("--gradcam", metavar="DIR", help="also write each case's Grad-CAM here")
    predict.add_argument(
        "--explain",
        action="store_true",
        help="add each case's top contributing features (SHAP, with sign) and, for the deep "
        "models, the test-time augmentation spread and an 'uncertain' flag",
    )
    predict.add_argument(
        "--masks-out",
        metavar="DIR",
        help="model of an automatic-segmentation study: also write each predicted mask here",
    )
    _model_options(predict)
    predict.set_defaults(handler=_predict)


def _add_evaluate(commands):
    evaluate = commands.add_parser(
        "evaluate",
        help="validate a finished study's models on an external cohort",
        description="Every headline model of the study, unchanged (same thresholds), on "
        "another cohort: Table 2 beside the internal test cohort, ROC, calibration, decision "
        "curves, DeLong tests and a report.",
    )
    evaluate.add_argument("--study", required=True, help="the study's output folder")
    evaluate.add_argument("--cases", required=True, help="external cohort's case table CSV")
    evaluate.add_argument("--target", required=True, help="outcome column of the case table")
    evaluate.add_argument("--out", required=True, help="output folder")
    _model_options(evaluate)
    evaluate.set_defaults(handler=_evaluate)


def _model_options(parser):
    parser.add_argument(
        "--use-joblib",
        action="store_true",
        help="load model.joblib (a pickle: trusted sources only) instead of model.rdinet",
    )
    parser.add_argument(
        "--allow-other-version",
        action="store_true",
        help="use models saved by another rdinet-sklearn version",
    )
    parser.add_argument(
        "--expect-fingerprint",
        action="append",
        metavar="SHA256",
        help="refuse any model folder whose fingerprint (printed when the model is exported, "
        "the SHA-256 of its model.json) is not this one (repeatable)",
    )


COMMANDS = (
    _add_demo,
    _add_study,
    _add_predict,
    _add_evaluate,
    _add_extract,
    _add_validate,
    _add_index,
)
"""The subcommands' parser functions, in ``--help`` order."""


def build_parser():
    """The ``rdinet`` argument parser (every subcommand of :data:`COMMANDS`)."""
    from . import __version__

    parser = _Parser(
        prog="rdinet",
        description="Predict treatment response from MRI with radiomics, 3D CNNs and RDINet.",
        epilog="Exit codes: 0 done, 1 internal error (traceback in the log file named), "
        "2 usage error, 3 bad input (case table, images, settings), 130 interrupted.",
    )
    parser.add_argument("--version", action="version", version=f"rdinet-sklearn {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in COMMANDS:
        add(commands)
    return parser


# -- handlers ---------------------------------------------------------------------------------


def _config(args):
    from .study import make_config

    overrides = list(args.overrides)
    if args.device:
        overrides.append(f"deep.device={args.device}")
    return make_config(args.preset, config_file=args.config, overrides=overrides)


def _demo(args):
    from .datasets import make_ted_cohort
    from .study import run_study
    from .study._folder import check_writable

    config = _config(args)
    check_writable(args.out)  # before the cohort is written into it
    shape = {"shape": tuple(args.shape)} if args.shape else {}
    cases, y = make_ted_cohort(
        args.patients, f"{args.out}/cohort", random_state=config.seed, **shape
    )
    results = run_study(cases, y, config=config, out=args.out, progress=not args.no_progress)
    _print_fingerprints(args.out, results["models"])
    return _print_aucs(results, "test", args.out)


def _study(args):
    from .study import run_study

    config = _config(args)
    results = run_study(
        args.cases,
        target=args.target,
        config=config,
        out=args.out,
        progress=not args.no_progress,
        test_cases=args.test_cases,
        group_column=args.group_column,
    )
    _print_fingerprints(args.out, results["models"])
    return _print_aucs(results, "test", args.out)


def _print_aucs(results, cohort, out):
    """``cohort``'s AUC (95% CI) per model of Table 2, one line each, and the report's path."""
    lines = [f"{cohort}-cohort AUC (95% CI):"]
    for row in results["table2"]:
        if row["cohort"] == cohort and row["metric"] == "AUC":
            # NaN (not computable) arrives from the JSON records as None.
            value = "NA" if row["value"] is None else f"{row['value']:.3f}"
            interval = (
                "(NA)" if row["ci_low"] is None else f"({row['ci_low']:.2f}-{row['ci_high']:.2f})"
            )
            lines.append(f"  {row['model']:<32} {value} {interval}")
    print("\n".join(lines))
    print(f"report: {out}/report.html")
    return EXIT_OK


def _print_fingerprints(out, names):
    """Each exported model folder's fingerprint, for its author to publish."""
    from .io import folder_fingerprint
    from .study._handover import model_folder

    print("model fingerprints (pass to predict/evaluate --expect-fingerprint):")
    for name in names:
        print(f"  {name:<32} {folder_fingerprint(model_folder(out, name))}")


def _load_model(args, folder):
    from .io import load_model_folder

    if os.path.isfile(folder):  # the model.rdinet / model.json inside the folder
        folder = os.path.dirname(folder)
    return load_model_folder(
        folder,
        use_joblib=args.use_joblib,
        allow_other_version=args.allow_other_version,
        expect_fingerprint=args.expect_fingerprint,
    )


def _predict(args):
    from .study._apply import (
        explain_predictions,
        predict_cases,
        write_gradcam_figures,
        write_table_atomic,
    )

    model, card, fingerprint = _load_model(args, args.model)
    print(f"model {card['name']!r}: fingerprint {fingerprint}")
    predictions = predict_cases(model, card, args.cases, masks_out=args.masks_out)
    if args.explain:
        folder = os.path.dirname(args.model) if os.path.isfile(args.model) else args.model
        predictions = explain_predictions(model, card, folder, args.cases, predictions)
    if args.gradcam:
        write_gradcam_figures(model, card, args.cases, args.gradcam)
    write_table_atomic(predictions, args.out)
    positive = int((predictions["predicted_class"] == card["positive_class"]).sum())
    print(
        f"{args.out}: {len(predictions)} cases, {positive} predicted {card['positive_class']!r} "
        f"(threshold {card['threshold']:.3f}, model {card['name']!r})"
    )
    return EXIT_OK


def _evaluate(args):
    from .study import evaluate_study

    results = evaluate_study(
        args.study,
        args.cases,
        args.target,
        args.out,
        use_joblib=args.use_joblib,
        allow_other_version=args.allow_other_version,
        expect_fingerprint=args.expect_fingerprint,
    )
    for name, model in results["models"].items():
        print(f"model {name!r}: fingerprint {model['fingerprint']}")
    return _print_aucs(results, "external", args.out)


def _id_column(args, table):
    """``--id-column``, or the study's default id column when the table has it."""
    if args.id_column:
        return args.id_column
    return DEFAULT_ID_COLUMN if DEFAULT_ID_COLUMN in table.columns else None


def _extract(args):
    from ._atomic import atomic_path
    from ._cases import read_case_table, validate_case_table
    from .radiomics import RadiomicsExtractor

    cases = read_case_table(args.cases)
    id_column = _id_column(args, cases)
    if id_column:  # rows are then named, in problems and in the output, by patient id
        validate_case_table(cases, id_column=id_column, check_files=False)
        cases = cases.set_index(cases[id_column].astype(str))
    roi = tuple(args.roi) if len(args.roi) > 1 else args.roi[0]
    extractor = RadiomicsExtractor(
        roi=roi,
        labels=args.labels,
        params=args.params,
        reference_mask_column=args.reference_mask_column,
        memory=args.cache,
        n_jobs=args.n_jobs,
    ).set_output(transform="pandas")
    features = extractor.fit_transform(cases)
    with atomic_path(args.out) as partial:  # never a half-written table
        if args.out.endswith(".parquet"):
            features.to_parquet(partial)
        else:
            features.to_csv(partial)
    print(f"{args.out}: {features.shape[0]} cases x {features.shape[1]} features")
    return EXIT_OK


def _validate(args):
    from ._cases import read_case_table, validate_case_table

    table = read_case_table(args.cases)
    validate_case_table(
        table,
        labels=args.labels,
        reference_mask_column=args.reference_mask_column,
        id_column=_id_column(args, table),
    )
    print(f"{args.cases}: {len(table)} cases, no problems found")
    return EXIT_OK


def _index(args):
    from .dicom import index_dicom

    report = index_dicom(args.dicom, modality=args.modality, roi_map=args.roi_map, out=args.out)
    for skip in report.skipped.itertuples():
        structure = f" [{skip.structure}]" if skip.structure else ""
        print(f"skipped {skip.path}{structure}: {skip.reason}")
    stem = os.path.splitext(args.out)[0]
    print(
        f"{args.out}: {len(report.cases)} segmented series; "
        f"{len(report.skipped)} item(s) skipped (listed in {stem}_skipped.csv)"
    )
    return EXIT_OK


# -- errors -----------------------------------------------------------------------------------


def _is_bad_input(error):
    # A path given on the command line or in a table, or any of our input errors.
    return isinstance(error, (FileNotFoundError, RdinetInputError))


def _write_traceback(args, error):
    """Append the traceback to the study's log (``<out>/study.log``) or to a new temp file."""
    out = getattr(args, "out", None)
    text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    if args.command in ("demo", "study") and out and os.path.isdir(out):
        path = os.path.join(out, "study.log")
        try:
            with open(path, "a") as handle:
                handle.write(f"rdinet {args.command}: internal error\n{text}")
            return path
        except OSError:  # a read-only --out: the traceback goes to a temporary file instead
            pass
    handle, path = tempfile.mkstemp(prefix="rdinet-error-", suffix=".log")
    with os.fdopen(handle, "w") as log:
        log.write(text)
    return path


def main(argv=None):
    """Entry point of the ``rdinet`` command; returns the exit code.

    Parameters
    ----------
    argv : list of str, default=None
        The arguments (without the program name); ``None`` reads ``sys.argv``.

    Returns
    -------
    code : int
        0 done, 1 internal error, 2 usage error, 3 bad input, 130 interrupted.
    """
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="rdinet: %(message)s")
    try:
        return args.handler(args)
    except KeyboardInterrupt:
        print("rdinet: interrupted; rerun the same command to resume", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as error:  # every failure ends in one line and an exit code
        if _is_bad_input(error):
            print(f"rdinet: error: {error}", file=sys.stderr)
            return EXIT_BAD_INPUT
        log = _write_traceback(args, error)
        summary = str(error).splitlines()[0] if str(error) else ""
        print(
            f"rdinet: internal error ({type(error).__name__}: {summary}); traceback in {log}",
            file=sys.stderr,
        )
        return EXIT_FAILED


def run():
    """The ``rdinet`` console script: :func:`main` in a process that ends when it returns.

    Returns
    -------
    code : int
        :func:`main`'s exit code.

    Notes
    -----
    Two settings of the cyclic garbage collector cut about 1.5 s from a short command such
    as ``rdinet predict`` on one case (``benchmarks/bench_predict.py``), where importing
    torch, MONAI and scikit-learn is most of the time. Both are made here and not in
    :func:`main`, which runs in processes that go on (tests, notebooks):

    * a first-generation threshold of 10 000 allocations instead of 700: the imports create
      a million long-lived objects, and each young collection during them found little to
      free (0.7 s of collections in one ``predict``, 0.3 s with this threshold);
    * :func:`gc.freeze` once the command is done: the interpreter's last collection at exit
      would otherwise walk every one of those objects (about 1 s). Every file the command
      writes is closed by then.
    """
    gc.set_threshold(10_000, *gc.get_threshold()[1:])
    code = main()
    gc.freeze()
    return code


if __name__ == "__main__":
    sys.exit(run())
