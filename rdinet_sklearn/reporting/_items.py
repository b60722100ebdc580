"""The items of the TRIPOD+AI and CLEAR checklists, numbered as published.

Sources of the numbering and sections:

* TRIPOD+AI: Collins G. S. et al. (2024), BMJ 385:e078378, checklist version of
  11 January 2024: 27 items, 52 with their sub-items (1, 2, 3a-3c, 4, ..., 27a-27c).
* CLEAR: Kocak B. et al. (2023), Insights Imaging 14:75, and its official item list
  (CLEAR v1.0, clearchecklist.github.io): 58 items numbered 1-58 in manuscript order,
  in the sections Title (1), Abstract (2), Keywords (3), Introduction (4-6), Study design
  (7-12), Data (13-18), Segmentation (19-20), Pre-processing (21-24), Feature extraction
  (25-28), Data preparation (29-33), Modeling (34-37), Evaluation (38-43), Results
  (44-48), Discussion (49-52) and Open science (53-58).

The item numbers and short section titles are the published ones; each requirement is a
one-line paraphrase written for this package (read the published checklists for the
authoritative wording). Each checklist is a text table, one item a line
(``id | requirement | rule``) under ``## section`` lines, read by :func:`_parse`. The rule
says how a :class:`StudyDescription` answers the item:

* a topic name (``cohort``): *covered* where the description holds it, pointing to
  :meth:`StudyDescription.where`, else *for the authors*;
* ``-``: *for the authors* (only they know: background, ethics, funding, limitations);
* ``if TOPIC``: *not applicable* unless the study holds ``TOPIC``, then as a topic name;
* ``never REASON``: *not applicable* for every study this package runs (it never does
  what the item asks about), with the reason from :data:`NEVER`.
"""

NEVER = {"updating": "rdinet-sklearn never recalibrates or updates a model after evaluation"}

_TRIPOD_AI = """
## Title
1 | Say that a prediction model is developed or evaluated, for whom, predicting what. | -
## Abstract
2 | Structured abstract following the TRIPOD+AI for Abstracts list. | -
## Background
3a | Clinical context and why the model is needed. | -
3b | Target population, intended use in the care pathway and intended users. | -
3c | Known health inequalities between sociodemographic groups. | -
## Objectives
4 | Objectives, saying whether the model is developed, evaluated or both. | -
## Data
5a | Data sources for development and evaluation, and their representativeness. | data_source
5b | Dates of the participant data. | -
## Participants
6a | Setting, number and location of centres. | -
6b | Eligibility criteria. | -
6c | Treatments received, where relevant. | -
## Data preparation
7 | Preprocessing and quality checks of the data. | preprocessing
## Outcome
8a | Outcome definition, time horizon and how it was assessed. | outcome
8b | Qualifications of outcome assessors where judgement is involved. | -
8c | Blinding of outcome assessment. | -
## Predictors
9a | Choice of candidate predictors and any pre-selection. | selection
9b | Definition and measurement of every predictor. | extraction
9c | Qualifications of assessors of predictors (e.g. segmenting readers). | segmentation
## Sample size
10 | How the sample size was arrived at, and its justification. | sample_size
## Missing data
11 | How missing data were handled. | missing_data
## Analytical methods
12a | How the data were used for development and evaluation (partitioning). | validation
12b | Handling of predictors: transformation, scaling, standardisation. | selection
12c | Model type, rationale, every building step and hyperparameter tuning. | models
12d | Heterogeneity across clusters (centres) in estimates and performance. | if external_validation
12e | Performance measures and plots (discrimination, calibration, utility). | performance
12f | Model updating after evaluation (e.g. recalibration). | never updating
12g | How predictions were computed for evaluation (code, saved model). | model_files
## Class imbalance
13 | Methods for class imbalance, why, and any recalibration. | -
## Fairness
14 | Approaches to model fairness and their rationale. | -
## Model output
15 | Form of the output (probability, class) and the thresholds used. | predictions
## Training versus evaluation
16 | Differences between development and evaluation data. | if external_validation
## Ethical approval
17 | Ethics approval and participant consent. | -
## Open science
18a | Funding. | -
18b | Conflicts of interest. | -
18c | Where the protocol can be found. | -
18d | Registration. | -
18e | Data availability. | -
18f | Code availability. | code
## Patient and public involvement
19 | Patient and public involvement. | -
## Participants
20a | Flow of participants, with and without the outcome. | cohort
20b | Characteristics of the participants, overall and per data source. | cohort
20c | Evaluation data compared with development data on key predictors. | if external_validation
## Model development
21 | Participants and outcome events in each analysis. | cohort
## Model specification
22 | The full model (code, saved object) so others can use and test it. | model_files
## Model performance
23a | Performance estimates with confidence intervals. | performance
23b | Heterogeneity of performance across clusters. | if external_validation
## Model updating
24 | Results of any model updating. | never updating
## Interpretation
25 | Overall interpretation, including fairness. | -
## Limitations
26 | Limitations (sample, size, overfitting, missing data) and their effects. | -
## Usability of the model
27a | How poor-quality or missing inputs are to be handled in use. | -
27b | Whether users handle inputs or the model, and what expertise they need. | -
27c | Next steps towards applicability and generalisability. | -
"""

_CLEAR = """
## Title
1 | Say that the study is a radiomics study, with its methodology. | -
## Abstract
2 | Structured summary of the key radiomics methods and results. | -
## Keywords
3 | Keywords relevant to radiomics. | -
## Introduction
4 | Scientific or clinical background. | -
5 | Why a radiomics approach is used. | -
6 | Study objectives, hypotheses or aims. | -
## Study design
7 | Reporting guidelines or checklists followed. | -
8 | Ethics approval, consent and data protection. | -
9 | Sample size considerations. | sample_size
10 | Retrospective or prospective design. | -
11 | Eligibility criteria. | -
12 | Flowchart of the technical pipeline. | -
## Data
13 | Source of the data (private, public). | data_source
14 | Overlap with data of earlier studies. | -
15 | How the data were split (training, validation, test). | validation
16 | Imaging protocol (acquisition and processing). | -
17 | Definition of the non-radiomic (clinical) predictors. | -
18 | Definition of the reference standard (outcome). | outcome
## Segmentation
19 | Segmentation strategy (2D/3D, manual or automatic, software, region). | segmentation
20 | Who segmented: number of readers and their experience. | segmentation
## Pre-processing
21 | Image pre-processing steps. | preprocessing
22 | Resampling method and parameters. | preprocessing
23 | Intensity discretisation method and parameters. | extraction
24 | Image types (original, filtered, transformed). | extraction
## Feature extraction
25 | Extraction software and version. | extraction
26 | Feature classes (shape, first order, texture). | extraction
27 | Number of features. | extraction
28 | Statement that the remaining parameters are the defaults. | extraction
## Data preparation
29 | Handling of missing data. | missing_data
30 | Class imbalance. | -
31 | Reliability of the segmentations (inter- or intra-reader agreement). | reproducibility
32 | Feature scaling (normalisation, standardisation). | selection
33 | Dimension reduction and feature selection. | selection
## Modeling
34 | Algorithms used and their characteristics. | models
35 | Training and hyperparameter tuning. | models
36 | Handling of confounders. | -
37 | How the final model was chosen. | models
## Evaluation
38 | Testing technique (internal, external). | validation
39 | Performance metrics and why they were chosen. | performance
40 | Uncertainty of the estimates (confidence intervals). | performance
41 | Statistical comparison of model performance. | performance
42 | Comparison with non-radiomic and combined models. | models
43 | Interpretability and explainability methods. | contributions
## Results
44 | Baseline demographic and clinical characteristics. | cohort
45 | Flow of patients through the eligibility criteria. | cohort
46 | Feature statistics (reproducibility, selection). | selection
47 | Performance of the models with the pre-specified metrics. | performance
48 | Comparison with non-radiomic and combined approaches. | performance
## Discussion
49 | Summary of the main findings. | -
50 | Previous work and how this study differs. | -
51 | Practical implications. | -
52 | Strengths and limitations. | -
## Open science
53 | Images with their segmentations (recommended, not essential). | -
54 | Radiomic feature data. | -
55 | Pre-processing scripts or settings. | code
56 | Source code of the modelling. | code
57 | Final model files. | model_files
58 | A ready-to-use system (recommended, not essential). | -
"""


def _rule(text):
    """The rule column of a table line as :func:`~._checklists._answer` reads it."""
    if text == "-":
        return None
    kind, _, value = text.partition(" ")
    if kind == "if":
        return ("applies_if", value)
    if kind == "never":
        return ("never", NEVER[value])
    return text


def _parse(table):
    """``(id, section, requirement, rule)`` of every item line of a checklist table."""
    items, section = [], None
    for line in table.strip().splitlines():
        if line.startswith("## "):
            section = line[3:]
            continue
        item, requirement, rule = (part.strip() for part in line.split(" | "))
        items.append((item, section, requirement, _rule(rule)))
    return tuple(items)


TRIPOD_AI = _parse(_TRIPOD_AI)
CLEAR = _parse(_CLEAR)
