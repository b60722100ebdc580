"""Methods paragraph and TRIPOD+AI / CLEAR checklists generated from a StudyDescription."""

import pytest

from rdinet_sklearn.reporting import (
    CHECKLISTS,
    StudyDescription,
    checklist,
    checklist_markdown,
    methods_paragraph,
    write_reporting_files,
)
from rdinet_sklearn.reporting._items import CLEAR, NEVER, TRIPOD_AI


@pytest.fixture
def study():
    return StudyDescription(
        title="TED steroid response",
        n_patients=147,
        n_events=61,
        outcome="response at 12 weeks",
        data_source="synthetic cohort (make_ted_cohort, seed 0)",
        software={"rdinet-sklearn": "0.1.0", "pyradiomics": "3.1.4"},
        preprocessing=["z-score normalisation (scale 100)"],
        segmentation="two raters delineated the four recti",
        roi_strategies=["MR+LR", "all"],
        extraction={"software": "pyradiomics 3.1.4", "settings": "original", "bin_width": 5},
        ibsi="82 % of the IBSI phase-1 reference values reproduced",
        reproducibility="ICC(3,1) >= 0.75",
        selection=["Welch t-test p < 0.05", "LASSO"],
        models={"SVM": "C in {0.1, 1, 10}"},
        validation="5-fold stratified CV in 117 training patients, 30 test patients",
        metrics=["AUC", "accuracy"],
        intervals={"AUC": "logit DeLong"},
        calibration_curve=True,
        contributions=True,
        negative_controls=True,
        sections={"cohort": "Table 1"},
    )


# The published structure: TRIPOD+AI's 27 items with their sub-item letters (Collins et
# al., BMJ 2024) and CLEAR's 58 items with the first item of each section (Kocak et al.,
# Insights Imaging 2023).
TRIPOD_AI_SUBITEMS = {3: "abc", 5: "ab", 6: "abc", 8: "abc", 9: "abc", 12: "abcdefg"}
TRIPOD_AI_SUBITEMS |= {18: "abcdef", 20: "abc", 23: "ab", 27: "abc"}
CLEAR_SECTIONS = {
    1: "Title",
    2: "Abstract",
    3: "Keywords",
    4: "Introduction",
    7: "Study design",
    13: "Data",
    19: "Segmentation",
    21: "Pre-processing",
    25: "Feature extraction",
    29: "Data preparation",
    34: "Modeling",
    38: "Evaluation",
    44: "Results",
    49: "Discussion",
    53: "Open science",
}


def test_items_are_numbered_as_published():
    expected = [
        f"{number}{letter}"
        for number in range(1, 28)
        for letter in TRIPOD_AI_SUBITEMS.get(number, [""])
    ]
    assert [item for item, *_ in TRIPOD_AI] == expected
    assert len(expected) == 52
    assert [item for item, *_ in CLEAR] == [str(number) for number in range(1, 59)]
    sections = {int(item): section for item, section, *_ in CLEAR}
    first = sorted(CLEAR_SECTIONS)
    for start, end in zip(first, [*first[1:], 59], strict=True):
        assert {sections[n] for n in range(start, end)} == {CLEAR_SECTIONS[start]}
    tripod = {item: section for item, section, *_ in TRIPOD_AI}
    assert tripod["12g"] == "Analytical methods" and tripod["18f"] == "Open science"
    for _, _, requirement, _ in (*TRIPOD_AI, *CLEAR):
        assert requirement.endswith(".") and "|" not in requirement


def test_every_item_is_answered_with_a_pointer(study):
    for which, (_, items) in CHECKLISTS.items():
        table = checklist(study, which)
        assert len(table) == len(items) and table["item"].is_unique
        assert set(table["status"]) <= {"covered", "not applicable", "for the authors"}
        assert table["where"].str.len().gt(0).all()
    tripod = checklist(study, "tripod_ai").set_index("item")
    assert tripod.loc["20a", ["status", "where"]].tolist() == ["covered", "Table 1"]
    assert tripod.loc["12e", "where"] == 'report section "Discrimination" (Table 2)'
    assert tripod.loc["24", "status"] == "not applicable"  # models are never updated
    assert tripod.loc["24", "where"] == NEVER["updating"]
    assert tripod.loc["23b", "status"] == "not applicable"  # no external cohort here
    assert tripod.loc["23b", "where"] == "no external validation in this study"
    assert tripod.loc["11", "status"] == "for the authors"  # missing data not described
    assert tripod.loc["17", ["status", "where"]].tolist() == ["for the authors", "the manuscript"]
    clear = checklist(study, "clear").set_index("item")
    assert clear.loc["43", "where"] == 'report section "Feature contributions"'
    assert clear.loc["29", "status"] == "for the authors"  # missing data not described
    assert clear.loc["31", "where"] == 'report section "Feature reproducibility"'
    study.external_validation = "150 patients of centre B"
    assert checklist(study, "tripod_ai").set_index("item").loc["23b", "status"] == "covered"


def test_markdown_and_methods(study):
    text = checklist_markdown(study, "tripod_ai")
    lines = text.splitlines()
    assert lines[0] == "# TRIPOD+AI checklist"
    table_rows = [line for line in lines if line.startswith("| ") and "Item" not in line]
    assert len(table_rows) == len(TRIPOD_AI)
    counts = checklist(study, "tripod_ai")["status"].value_counts()
    assert f"{counts['covered']} covered" in lines[2]
    methods = methods_paragraph(study)
    for fact in (
        "147 patients (61 with the outcome)",
        "Regions of interest compared: MR+LR and all.",
        "bin width: 5",
        "ICC(3,1) >= 0.75, Welch t-test p < 0.05 and LASSO",
        "SVM (grid: C in {0.1, 1, 10})",
        "AUC: logit DeLong",
        "Negative controls",
        "rdinet-sklearn 0.1.0 and pyradiomics 3.1.4",
    ):
        assert fact.lower() in methods.lower(), fact
    assert "Missing data" not in methods  # empty topics are left out
    assert methods_paragraph(StudyDescription()) == "# Methods\n"


def test_files_are_written_whole(study, tmp_path):
    paths = write_reporting_files(study, tmp_path / "out")
    assert {p.name for p in paths.values()} == {"methods.md", "tripod_ai.md", "clear.md"}
    assert paths["clear"].read_text().startswith("# CLEAR checklist")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "clear.md",
        "methods.md",
        "tripod_ai.md",
    ]
    with pytest.raises(ValueError, match="which must be one of"):
        checklist(study, "stard")
    with pytest.raises(KeyError, match="unknown topic"):
        study.has("nonsense")


def test_methods_name_the_negative_controls_that_ran():
    from rdinet_sklearn.reporting import StudyDescription, methods_paragraph

    some = methods_paragraph(StudyDescription(negative_controls=["volume"]))
    assert "Negative controls (roi volume alone) compared" in some
    every = methods_paragraph(StudyDescription(negative_controls=True))
    assert "shuffled voxels, a region elsewhere" in every
    assert "Negative controls" not in methods_paragraph(StudyDescription())
