"""Table 1 (clinical characteristics), Table 2 (model performance) and its calibration table."""

from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import stats
from scipy.stats.contingency import expected_freq

from ._calibration import calibration_report
from ._report import CI_METHODS, binary_report

TABLE2_METRICS = ("AUC", "ACC", "SEN", "SPE", "PPV", "NPV")
CALIBRATION_METRICS = ("Brier", "Calibration intercept", "Calibration slope")

_METHOD_TEXT = {
    "logit-delong": "logit-transformed DeLong (Newcombe score interval at AUC 0 or 1)",
    "clopper-pearson": "Clopper-Pearson exact",
    "wilson": "Wilson score",
    "bootstrap": "stratified percentile bootstrap (under-covers at small n)",
    "hall-t": "t with Hall's skewness correction",
    "wald": "Wald, logistic recalibration on logit(p)",
}


def format_p_value(p_value, digits=3):
    """Format a p-value for a publication table ("<0.001", "0.042", "" for NaN).

    Parameters
    ----------
    p_value : float or None
        The p-value; ``None`` and NaN give an empty string.
    digits : int, default=3
        Decimal places shown; values below ``10**-digits`` are written ``"<0.001"`` (for
        ``digits=3``).

    Returns
    -------
    text : str
        The formatted p-value.

    Examples
    --------
    >>> from rdinet_sklearn.metrics import format_p_value
    >>> format_p_value(0.0004), format_p_value(0.04213), format_p_value(float("nan"))
    ('<0.001', '0.042', '')
    >>> format_p_value(0.00004, digits=4), format_p_value(0.5), format_p_value(None)
    ('<0.0001', '0.500', '')
    """
    if p_value is None or np.isnan(p_value):
        return ""
    floor = 10.0**-digits
    return f"<{floor:.{digits}f}" if p_value < floor else f"{p_value:.{digits}f}"


def _group_labels(clinical_df, groups, group_order):
    if isinstance(groups, str):
        if groups not in clinical_df.columns:
            raise ValueError(f"groups={groups!r} is not a column of clinical_df.")
        labels = clinical_df[groups]
        clinical_df = clinical_df.drop(columns=groups)
    elif isinstance(groups, pd.Series):
        if not groups.index.equals(clinical_df.index):
            raise ValueError("groups (a Series) must have the same index as clinical_df.")
        labels = groups
    else:
        labels = pd.Series(np.asarray(groups), index=clinical_df.index)
        if len(labels) != len(clinical_df):
            raise ValueError(
                f"groups has {len(labels)} entries but clinical_df has {len(clinical_df)} rows."
            )
    missing = labels.isna()
    if missing.any():
        raise ValueError(f"groups is missing for rows {labels.index[missing].tolist()[:10]}.")
    if group_order is None:
        group_order = (
            list(labels.cat.categories)
            if isinstance(labels.dtype, pd.CategoricalDtype)
            else sorted(labels.unique())
        )
    present = set(labels.unique())
    if len(group_order) != 2 or set(group_order) != present:
        raise ValueError(f"table1 compares exactly two groups; got {sorted(map(str, present))}.")
    return clinical_df, labels, list(group_order)


def _is_normal(samples, alpha):
    # Shapiro-Wilk needs at least 3 values; smaller groups are treated as non-normal.
    return all(len(s) >= 3 and stats.shapiro(s).pvalue > alpha for s in samples)


def _numeric_rows(name, samples, normality_alpha, equal_var, digits):
    if any(len(s) == 0 for s in samples):
        return [(name, "", *["" for _ in samples], np.nan, "")]
    if _is_normal(samples, normality_alpha):
        cells = [f"{np.mean(s):.{digits}f} ± {np.std(s, ddof=1):.{digits}f}" for s in samples]
        p_value = stats.ttest_ind(*samples, equal_var=equal_var).pvalue
        level, test = "mean ± SD", "Welch t-test" if not equal_var else "t-test"
    else:
        quartiles = [np.percentile(s, [25, 50, 75]) for s in samples]
        cells = [f"{q[1]:.{digits}f} [{q[0]:.{digits}f}, {q[2]:.{digits}f}]" for q in quartiles]
        p_value = stats.mannwhitneyu(*samples, alternative="two-sided").pvalue
        level, test = "median [IQR]", "Mann-Whitney U"
    return [(name, level, *cells, float(p_value), test)]


def _categorical_rows(name, values, labels, group_order, fisher_expected, digits):
    table = pd.crosstab(values, labels).reindex(columns=group_order, fill_value=0)
    if table.shape[0] < 2:
        p_value, test = np.nan, ""
    elif table.shape == (2, 2) and expected_freq(table.to_numpy()).min() < fisher_expected:
        p_value, test = stats.fisher_exact(table.to_numpy()).pvalue, "Fisher exact"
    else:
        p_value, test = stats.chi2_contingency(table.to_numpy()).pvalue, "chi-squared"
    totals = table.sum(axis=0)
    rows = []
    for position, (level, counts) in enumerate(table.iterrows()):
        cells = [
            f"{counts[g]} ({100 * counts[g] / totals[g]:.{digits}f}%)" if totals[g] else "0"
            for g in group_order
        ]
        first = position == 0
        rows.append(
            (
                name,
                f"{level}, n (%)",
                *cells,
                float(p_value) if first else np.nan,
                test if first else "",
            )
        )
    return rows


def table1(
    clinical_df,
    groups,
    *,
    categorical=None,
    group_order=None,
    normality_alpha=0.05,
    equal_var=False,
    fisher_expected=5.0,
    digits=1,
):
    """Clinical characteristics by group with the usual univariate tests.

    Parameters
    ----------
    clinical_df : pandas.DataFrame
        One row per patient, one column per characteristic.
    groups : str or array-like of shape (n_patients,)
        Column name of ``clinical_df`` or labels (e.g. train/test cohort,
        responder/non-responder) with exactly two distinct values. A Series
        must share ``clinical_df``'s index.
    categorical : list of str, default=None
        Columns to treat as categorical. By default, non-numeric and boolean
        columns are categorical and the rest numeric.
    group_order : list, default=None
        Order of the two group columns; default is categorical order or sorted.
    normality_alpha : float, default=0.05
        A numeric variable is summarised and tested as normal when the
        Shapiro-Wilk p-value exceeds this in both groups.
    equal_var : bool, default=False
        Student's t-test if True, Welch's (the default) otherwise.
    fisher_expected : float, default=5.0
        2x2 tables with an expected count below this use Fisher's exact test.
    digits : int, default=1
        Decimals of the summaries.

    Returns
    -------
    pandas.DataFrame
        Columns ``variable``, ``level``, one column per group headed
        ``"<group> (n=<count>)"``, ``p_value`` (float; on the first row of
        each variable) and ``test``. Render with ``to_html()`` or
        ``to_markdown()`` (the latter needs ``tabulate``); format p-values with
        :func:`format_p_value`.

    Notes
    -----
    Numeric: mean ± SD and t-test when normal, else median [Q1, Q3] and the
    two-sided Mann-Whitney U test. Categorical: n (%) per level within each
    group; chi-squared test (Yates-corrected for 2x2, scipy's default), or
    Fisher's exact test for a 2x2 table with small expected counts. Missing
    values are excluded per variable and counted on a ``missing`` row.

    Examples
    --------
    >>> import pandas as pd
    >>> from rdinet_sklearn.metrics import table1
    >>> df = pd.DataFrame({"age": [50, 61, 45, 70, 38, 55], "sex": list("FMFFMM")})
    >>> table1(df, ["train", "train", "train", "test", "test", "test"]).columns.tolist()
    ['variable', 'level', 'test (n=3)', 'train (n=3)', 'p_value', 'test']
    """
    if not isinstance(clinical_df, pd.DataFrame):
        raise ValueError("clinical_df must be a pandas DataFrame.")
    clinical_df, labels, group_order = _group_labels(clinical_df, groups, group_order)
    categorical = set(categorical or [])
    unknown = categorical - set(clinical_df.columns)
    if unknown:
        raise ValueError(f"categorical names columns not in clinical_df: {sorted(unknown)}.")
    rows = []
    for name in clinical_df.columns:
        values = clinical_df[name]
        numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
        present = values.notna()
        if numeric and name not in categorical:
            samples = [values[present & (labels == g)].to_numpy(float) for g in group_order]
            rows += _numeric_rows(name, samples, normality_alpha, equal_var, digits)
        else:
            rows += _categorical_rows(
                name, values[present], labels[present], group_order, fisher_expected, digits
            )
        if not present.all():
            missing = [str(int((~present & (labels == g)).sum())) for g in group_order]
            rows.append((name, "missing, n", *missing, np.nan, ""))
    headers = [f"{g} (n={int((labels == g).sum())})" for g in group_order]
    return pd.DataFrame(rows, columns=["variable", "level", *headers, "p_value", "test"])


def _format_interval(row, digits, ci_digits):
    if np.isnan(row.value):
        return "NA"
    if np.isnan(row.ci_low):
        return f"{row.value:.{digits}f} (NA)"
    return f"{row.value:.{digits}f} ({row.ci_low:.{ci_digits}f} to {row.ci_high:.{ci_digits}f})"


def _long_table(results, report, metrics, entry_sizes, **options):
    """Concatenate ``report(y, proba, ...)`` over ``{model: {cohort: entry}}``."""
    shape = "(y_true, proba, threshold)" if entry_sizes == (3,) else "(y_true, proba[, threshold])"
    if not isinstance(results, Mapping) or not results:
        raise ValueError(f"results must be a non-empty {{model: {{cohort: {shape}}}}} dict.")
    reports = []
    for model, cohorts in results.items():
        if not isinstance(cohorts, Mapping):
            raise ValueError(f"results[{model!r}] must be a {{cohort: {shape}}} dict.")
        for cohort, entry in cohorts.items():
            if not isinstance(entry, tuple | list) or len(entry) not in entry_sizes:
                raise ValueError(f"results[{model!r}][{cohort!r}] must be {shape}.")
            frame = report(entry, model=model, cohort=cohort, **options)
            reports.append(frame.assign(model=model, cohort=cohort))
    long = pd.concat(reports, ignore_index=True)
    unknown = set(metrics) - set(long["metric"])
    if unknown:
        choices = list(dict.fromkeys(long["metric"]))
        raise ValueError(f"Unknown metrics {sorted(unknown)}; choose from {choices}.")
    long = long[long["metric"].isin(metrics)]
    return long[["model", "cohort", "metric", "value", "ci_low", "ci_high", "method"]]


def _caption(long, confidence):
    """Sentence naming the interval method of each metric, for the table's caption."""
    methods = long.drop_duplicates("metric").set_index("metric")["method"]
    by_method = {}
    for metric, method in methods.items():
        by_method.setdefault(method, []).append(metric)
    parts = [f"{', '.join(names)}: {_METHOD_TEXT[method]}" for method, names in by_method.items()]
    return (
        f"Estimate ({100 * confidence:g}% CI); NA: not computable. "
        f"Interval methods: {'; '.join(parts)}."
    )


def _finish(long, metrics, formatted, digits, ci_digits, confidence):
    methods = dict(zip(long["metric"], long["method"], strict=False))
    caption = _caption(long, confidence)
    if not formatted:
        long = long.reset_index(drop=True)
        long.attrs = {"caption": caption, "ci_methods": methods}
        return long
    cells = long.assign(cell=[_format_interval(r, digits, ci_digits) for r in long.itertuples()])
    wide = cells.pivot(index=["model", "cohort"], columns="metric", values="cell")
    order = pd.MultiIndex.from_frame(long[["model", "cohort"]].drop_duplicates())
    wide = wide.reindex(index=order, columns=list(metrics))
    wide.columns.name = None
    wide.attrs = {"caption": caption, "ci_methods": methods}
    return wide


def table2(
    results,
    *,
    metrics=TABLE2_METRICS,
    formatted=True,
    digits=3,
    ci_digits=2,
    **report_options,
):
    """Per-model performance with confidence intervals in each cohort.

    Parameters
    ----------
    results : dict
        ``{model_name: {cohort_name: (y_true, proba, threshold)}}``. Use the
        threshold chosen on the training cohort for every cohort.
    metrics : sequence of str, default=("AUC", "ACC", "SEN", "SPE", "PPV", "NPV")
        Rows of :func:`binary_report` to include (``"Brier"`` also available).
    formatted : bool, default=True
        Return strings such as ``"0.898 (0.79 to 0.97)"`` in a wide table; if
        False return the numeric long table (model, cohort, metric, value,
        ci_low, ci_high, method).
    digits, ci_digits : int, default=3, 2
        Decimals of the value and of the interval bounds.
    **report_options
        Passed to :func:`binary_report` (``ci``, ``n_bootstraps``,
        ``confidence``, ``random_state``, ``pos_label``).

    Returns
    -------
    pandas.DataFrame
        Formatted: index (model, cohort), one column per metric; ``"NA"`` where a
        value cannot be computed and ``"0.500 (NA)"`` where only its interval
        cannot (each with a warning naming the model and cohort). Both forms carry
        ``attrs["caption"]``, a sentence naming each metric's interval method, and
        ``attrs["ci_methods"]``, ``{metric: method}``.

    See Also
    --------
    binary_report : One model in one cohort.
    calibration_table : The companion table of calibration numbers.

    Examples
    --------
    >>> from rdinet_sklearn.metrics import table2
    >>> y, p = [0, 0, 1, 1, 0, 1], [0.1, 0.4, 0.35, 0.8, 0.2, 0.9]
    >>> table = table2({"radiomics": {"train": (y, p, 0.5)}})
    >>> table["AUC"].iloc[0]
    '0.889 (0.26 to 0.99)'
    >>> print(table.attrs["caption"])  # doctest: +NORMALIZE_WHITESPACE
    Estimate (95% CI); NA: not computable. Interval methods: AUC: logit-transformed DeLong
    (Newcombe score interval at AUC 0 or 1); ACC, SEN, SPE, PPV, NPV: Clopper-Pearson exact.
    """
    if "ci" in report_options and report_options["ci"] not in CI_METHODS:
        raise ValueError(f"ci must be one of {sorted(CI_METHODS)}; got {report_options['ci']!r}.")

    def report(entry, **options):
        y_true, proba, threshold = entry
        return binary_report(y_true, proba, threshold=threshold, **options)

    long = _long_table(results, report, metrics, (3,), **report_options)
    confidence = report_options.get("confidence", 0.95)
    return _finish(long, metrics, formatted, digits, ci_digits, confidence)


def calibration_table(
    results,
    *,
    metrics=CALIBRATION_METRICS,
    formatted=True,
    digits=3,
    ci_digits=2,
    confidence=0.95,
    pos_label=None,
):
    """Brier score, calibration intercept and slope with CIs per model and cohort.

    The companion of :func:`table2`: it takes the same ``results`` (the thresholds are
    not needed and ignored), so a study can build both from one dict.

    Parameters
    ----------
    results : dict
        ``{model_name: {cohort_name: (y_true, proba)}}``; ``(y_true, proba, threshold)``
        entries, as for :func:`table2`, are accepted.
    metrics : sequence of str, default=("Brier", "Calibration intercept", "Calibration slope")
        Rows of :func:`calibration_report` to include.
    formatted : bool, default=True
        Strings such as ``"0.143 (0.07 to 0.30)"`` in a wide table; if False the numeric
        long table (model, cohort, metric, value, ci_low, ci_high, method).
    digits, ci_digits : int, default=3, 2
        Decimals of the value and of the interval bounds.
    confidence : float, default=0.95
        Coverage of the two-sided intervals.
    pos_label : int, str or bool, default=None
        Positive class; inferred for labels {0, 1} or {-1, 1}.

    Returns
    -------
    pandas.DataFrame
        As :func:`table2`, with ``attrs["caption"]`` naming the interval methods.

    See Also
    --------
    calibration_report : One model in one cohort.
    calibration_intercept_slope : The logistic recalibration.

    Examples
    --------
    >>> from rdinet_sklearn.metrics import calibration_table
    >>> y = [0, 0, 1, 1, 0, 1, 0, 1, 1, 0]
    >>> proba = [0.1, 0.4, 0.35, 0.8, 0.2, 0.9, 0.6, 0.7, 0.55, 0.3]
    >>> table = calibration_table({"radiomics": {"test": (y, proba)}})
    >>> table.loc[("radiomics", "test")].tolist()
    ['0.143 (0.06 to 0.28)', '0.053 (-1.38 to 1.48)', '1.909 (-0.40 to 4.22)']
    """

    def report(entry, **options):
        return calibration_report(entry[0], entry[1], **options)

    long = _long_table(results, report, metrics, (2, 3), confidence=confidence, pos_label=pos_label)
    return _finish(long, metrics, formatted, digits, ci_digits, confidence)
