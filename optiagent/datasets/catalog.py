"""The catalog: one `VersionSpec` per benchmark version, in the data README's order.

Each entry names its files (relative to the data directory), the fields holding question,
answer and category, where the files come from upstream, and what the category label means.
The default version of each dataset is the data README's recommended file.
"""

from __future__ import annotations

from optiagent.datasets.complexor import (
    load_chain_of_experts,
    load_llmopt_corrected,
    load_orthought_complexor,
)
from optiagent.datasets.loaders import (
    load_llmopt_optibench,
    load_nl4opt_competition,
    load_nlp4lp_folders,
    load_optibench,
    load_optimind_csv,
    load_records,
    load_results_records,
)
from optiagent.datasets.spec import Fields, VersionSpec

__all__ = ["VERSIONS"]

_GH = "github.com/"
_LLMOPT = _GH + "antgroup/LLMOPT data/testset/"
_SIRL = _GH + "Cardinal-Operations/SIRL test_data/"
_OPTMATH = _GH + "optsuite/OptMATH benchmark/"
_OPTIMIND = _GH + "microsoft/OptiGuide optimind/data/"
_LLM4OR = _GH + "LLM4OR/LLM4OR static/"
_ORTHOUGHT = _GH + "ZJU-TSELab/ORThought datasets/"
_ORLLM = _GH + "bwz96sco/or_llm_agent data/datasets/"
_MAMO = _GH + "FreedomIntelligence/Mamo data/optimization/"

_PLAIN = Fields(question="question", answer="answer")
_EN = Fields(question="en_question", answer="en_answer")
_EN_DIFFICULTY = Fields(question="en_question", answer="en_answer", category="difficulty")
_EN_TYPE = Fields(question="en_question", answer="en_answer", category="question_type")
_MAMO_FIELDS = Fields(question="Question", answer="Answer")
_OPTIBENCH = Fields(question="question", answer="results", category="type", table_from_type=True)
_ORTHOUGHT_FIELDS = Fields(question="description", answer="ground_truth", category="problem_type")

_EXTRAS = ("icml2024_task3", "logior", "bwor")

_NONE = "none: the source gives no label (reported as 'uncategorized')"
_OPTIBENCH_TYPES = "OptiBench `type`: linear|nonlinear x table|notable (the paper's four groups)"
_OPTIMIND_CLASS = "first OptiMind `problem_class` (all classes in extra['problem_class'])"
_ORTHOUGHT_TYPE = "ORThought `problem_type` (LP, ILP, MILP, NLP)"
_DIFFICULTY = "source `difficulty` (Easy, Medium, Hard)"


def _v(
    dataset: str,
    version: str,
    paths: str | tuple[str, ...],
    loader: object,
    upstream: str,
    summary: str,
    category: str = _NONE,
    *,
    fields: Fields | None = None,
    default: bool = False,
) -> VersionSpec:
    files = (paths,) if isinstance(paths, str) else paths
    folder = f"extras/{dataset}" if dataset in _EXTRAS else dataset
    return VersionSpec(
        dataset=dataset,
        version=version,
        paths=tuple(f"{folder}/{p}" for p in files),
        loader=loader,  # type: ignore[arg-type]
        upstream=upstream,
        summary=summary,
        category=category,
        default=default,
        fields=fields,
    )


VERSIONS: tuple[VersionSpec, ...] = (
    # OptiBench
    _v(
        "optibench",
        "ReSocratic",
        "ReSocratic/OptiBench.json",
        load_optibench,
        _GH + "yangzhch6/ReSocratic data/OptiBench.json",
        "original 605; answer = every results value; objective key per PROVENANCE",
        _OPTIBENCH_TYPES,
        fields=_OPTIBENCH,
        default=True,
    ),
    _v(
        "optibench",
        "LLMOPT",
        "LLMOPT/optibench.jsonl",
        load_llmopt_optibench,
        _LLMOPT + "optibench.jsonl",
        "last results value, 2 dp, as published (18 are variable values: extra['label_issue'])",
        fields=_PLAIN,
    ),
    _v(
        "optibench",
        "LLM4OR_clean",
        "LLM4OR_clean/ReSocratic.jsonl",
        load_optibench,
        _LLM4OR + "clean_benchmarks/ReSocratic.jsonl",
        "LLM4OR survey's error-free subset (403 original records)",
        _OPTIBENCH_TYPES,
        fields=_OPTIBENCH,
    ),
    # OptMATH-Bench
    _v(
        "optmath_bench",
        "OptMATH",
        "OptMATH/OptMATH_Bench.json",
        load_records,
        _OPTMATH + "OptMATH_Bench.json",
        "original 166",
        fields=_EN,
        default=True,
    ),
    _v(
        "optmath_bench",
        "OptiMind_cleaned",
        "OptiMind_cleaned/optimind_cleaned_classified_optmath.csv",
        load_optimind_csv,
        _OPTIMIND + "optimind_cleaned_classified_optmath.csv",
        "OptiMind expert-cleaned MILP-only subset (non-linear removed; 2 blank rows skipped)",
        _OPTIMIND_CLASS,
    ),
    _v(
        "optmath_bench",
        "LLMOPT",
        "LLMOPT/optmath_bench.jsonl",
        load_records,
        _LLMOPT + "optmath_bench.jsonl",
        "original answers rounded to 2 dp",
        fields=_PLAIN,
    ),
    _v(
        "optmath_bench",
        "SIRL",
        "SIRL/OptMATH_Bench_193.jsonl",
        load_records,
        _SIRL + "OptMATH_Bench_193.jsonl",
        "166 + 27 undocumented problems (experimental)",
        fields=_EN,
    ),
    # NL4Opt
    _v(
        "nl4opt",
        "LLMOPT",
        "LLMOPT/nl4opt_test.jsonl",
        load_records,
        _LLMOPT + "nl4opt_test.jsonl",
        "relabelled, unsolvable removed",
        fields=_PLAIN,
        default=True,
    ),
    _v(
        "nl4opt",
        "SIRL",
        "SIRL/NL4OPT.jsonl",
        load_records,
        _SIRL + "NL4OPT.jsonl",
        "CardinalOperations set + SIRL fixes (17 'No Best Solution')",
        fields=_EN,
    ),
    _v(
        "nl4opt",
        "OptMATH",
        "OptMATH/NL4OPT.json",
        load_records,
        _OPTMATH + "NL4OPT.json",
        "CardinalOperations set, expert-revised",
        fields=_EN,
    ),
    _v(
        "nl4opt",
        "or_llm_agent",
        "or_llm_agent/NL4OPT_with_optimal_solution.json",
        load_records,
        _ORLLM + "NL4OPT_with_optimal_solution.json",
        "ORLM-era answers (-99999 markers read as infeasible)",
        fields=_EN,
    ),
    _v(
        "nl4opt",
        "ReSocratic",
        "ReSocratic/NL4OPT-E.json",
        load_results_records,
        _GH + "yangzhch6/ReSocratic data/NL4OPT-E.json",
        "full 289 test split with variable values (objective = last results key, unchecked)",
        "OptiBench-style `type` (always linear-notable)",
        fields=_OPTIBENCH,
    ),
    _v(
        "nl4opt",
        "nl4opt-competition",
        "nl4opt-competition/test.jsonl",
        load_nl4opt_competition,
        _GH + "nl4opt/nl4opt-competition generation_data/test.jsonl",
        "official 289 split: formulations only, no objective values (all 'missing')",
    ),
    # MAMO EasyLP
    _v(
        "mamo_easy",
        "SIRL",
        "SIRL/MAMO_EasyLP_fixed.jsonl",
        load_records,
        _SIRL + "MAMO_EasyLP_fixed.jsonl",
        "documented fixes (one -9999 = infeasible)",
        fields=_EN,
        default=True,
    ),
    _v(
        "mamo_easy",
        "LLMOPT",
        "LLMOPT/mamo_easy_test.jsonl",
        load_records,
        _LLMOPT + "mamo_easy_test.jsonl",
        "LLMOPT relabelled 652",
        fields=_PLAIN,
    ),
    _v(
        "mamo_easy",
        "OptMATH",
        "OptMATH/MAMO_EasyLP.json",
        load_records,
        _OPTMATH + "MAMO_EasyLP.json",
        "CardinalOperations copy (ORLM, OptMATH)",
        fields=_EN,
    ),
    _v(
        "mamo_easy",
        "Mamo",
        "Mamo/mamo_easy_lp.jsonl",
        load_records,
        _MAMO + "Easy_LP/mamo_easy_lp.jsonl",
        "MAMO authors' file",
        fields=_MAMO_FIELDS,
    ),
    _v(
        "mamo_easy",
        "LLM4OR_clean",
        "LLM4OR_clean/Mamo_easy_lp_clean.jsonl",
        load_records,
        _LLM4OR + "clean_benchmarks/Mamo/Mamo_easy_lp_clean.jsonl",
        "LLM4OR survey's error-free subset",
        fields=_MAMO_FIELDS,
    ),
    # MAMO ComplexLP
    _v(
        "mamo_complex",
        "OptiMind_cleaned",
        "OptiMind_cleaned/optimind_cleaned_classified_mamo_complex.csv",
        load_optimind_csv,
        _OPTIMIND + "optimind_cleaned_classified_mamo_complex.csv",
        "OptiMind expert-cleaned",
        _OPTIMIND_CLASS,
        default=True,
    ),
    _v(
        "mamo_complex",
        "SIRL",
        "SIRL/MAMO_ComplexLP_fixed.jsonl",
        load_records,
        _SIRL + "MAMO_ComplexLP_fixed.jsonl",
        "documented fixes (one -9999 = infeasible)",
        fields=_EN,
    ),
    _v(
        "mamo_complex",
        "OptMATH",
        "OptMATH/MAMO_ComplexLP.json",
        load_records,
        _OPTMATH + "MAMO_ComplexLP.json",
        "original (ORLM, OptMATH)",
        fields=_EN,
    ),
    _v(
        "mamo_complex",
        "Mamo",
        "Mamo/mamo_complex_lp.jsonl",
        load_records,
        _MAMO + "Complex_LP/mamo_complex_lp.jsonl",
        "MAMO authors' file",
        fields=_MAMO_FIELDS,
    ),
    _v(
        "mamo_complex",
        "LLMOPT",
        "LLMOPT/mamo_complex_test.jsonl",
        load_records,
        _LLMOPT + "mamo_complex_test.jsonl",
        "original answers rounded to 2 dp",
        fields=_PLAIN,
    ),
    _v(
        "mamo_complex",
        "LLM4OR_clean",
        "LLM4OR_clean/Mamo_complex_lp_clean.jsonl",
        load_records,
        _LLM4OR + "clean_benchmarks/Mamo/Mamo_complex_lp_clean.jsonl",
        "LLM4OR survey's error-free subset",
        fields=_MAMO_FIELDS,
    ),
    # IndustryOR
    _v(
        "industryor",
        "OptiMind_cleaned",
        "OptiMind_cleaned/optimind_cleaned_classified_industryor.csv",
        load_optimind_csv,
        _OPTIMIND + "optimind_cleaned_classified_industryor.csv",
        "v2, OptiMind expert-cleaned",
        _OPTIMIND_CLASS,
        default=True,
    ),
    _v(
        "industryor",
        "SIRL",
        "SIRL/IndustryOR_fixedV2.json",
        load_records,
        _SIRL + "IndustryOR_fixedV2.json",
        "v2 fixed",
        _DIFFICULTY,
        fields=_EN_DIFFICULTY,
    ),
    _v(
        "industryor",
        "ORThought",
        "ORThought/summary_industryor.json",
        load_records,
        _ORTHOUGHT + "summary/summary_industryor.json",
        "v2 cleaned (prob_045 has no answer)",
        _ORTHOUGHT_TYPE,
        fields=_ORTHOUGHT_FIELDS,
    ),
    _v(
        "industryor",
        "or_llm_agent",
        "or_llm_agent/IndustryOR.json",
        load_records,
        _ORLLM + "IndustryOR.json",
        "v2 original",
        _DIFFICULTY,
        fields=_EN_DIFFICULTY,
    ),
    _v(
        "industryor",
        "LLM4OR",
        "LLM4OR/dataset.jsonl",
        load_records,
        _LLM4OR + "datasets/IndustryOR/dataset.jsonl",
        "v1 original (ORLM paper; -99999 markers read as infeasible)",
        "source `question_type` (LP, IP, MIP, NLP, Others)",
        fields=_EN_TYPE,
    ),
    _v(
        "industryor",
        "LLMOPT",
        "LLMOPT/industryor.jsonl",
        load_records,
        _LLMOPT + "industryor.jsonl",
        "v1 original, 2 dp (-99999 markers read as infeasible)",
        fields=_PLAIN,
    ),
    _v(
        "industryor",
        "LLM4OR_clean",
        "LLM4OR_clean/IndustryOR.jsonl",
        load_records,
        _LLM4OR + "clean_benchmarks/IndustryOR.jsonl",
        "v1 error-free subset",
        "source `question_type` (LP, IP, MIP, NLP, Others)",
        fields=_EN_TYPE,
    ),
    # NLP4LP
    _v(
        "nlp4lp",
        "ORThought",
        "ORThought/summary_nlp4lp.json",
        load_records,
        _ORTHOUGHT + "summary/summary_nlp4lp.json",
        "re-annotated 264 (22 null answers kept as 'missing')",
        _ORTHOUGHT_TYPE,
        fields=_ORTHOUGHT_FIELDS,
        default=True,
    ),
    _v(
        "nlp4lp",
        "LLMOPT",
        "LLMOPT/nlp4lp.jsonl",
        load_records,
        _LLMOPT + "nlp4lp.jsonl",
        "original minus no-answer items, 2 dp",
        fields=_PLAIN,
    ),
    _v(
        "nlp4lp",
        "LLM4OR",
        "LLM4OR/NLP4LP",
        load_nlp4lp_folders,
        _LLM4OR + "datasets/NLP4LP/ (mirror of udell-lab/NLP4LP)",
        "original 269 folders (27 without an objective); parameters.json attached",
    ),
    _v(
        "nlp4lp",
        "LLM4OR_clean",
        "LLM4OR_clean/NL4LP",
        load_nlp4lp_folders,
        _LLM4OR + "clean_benchmarks/NL4LP/",
        "LLM4OR survey's error-free subset (folders)",
    ),
    # ComplexOR
    _v(
        "complexor",
        "LLMOPT_corrected",
        ("LLMOPT/complexor.jsonl", "ORThought/summary_complexor.json", "ORThought/ComplexOR"),
        load_llmopt_corrected,
        _LLMOPT + "complexor.jsonl + " + _ORTHOUGHT + "summary/summary_complexor.json",
        "LLMOPT texts with ORThought's corrected answers (5 corrections, 1 more precise)",
        _ORTHOUGHT_TYPE,
        fields=_PLAIN,
        default=True,
    ),
    _v(
        "complexor",
        "LLMOPT",
        "LLMOPT/complexor.jsonl",
        load_records,
        _LLMOPT + "complexor.jsonl",
        "original answers (5 wrong or ill-posed), data inlined",
        fields=_PLAIN,
    ),
    _v(
        "complexor",
        "ORThought",
        ("ORThought/summary_complexor.json", "ORThought/ComplexOR"),
        load_orthought_complexor,
        _ORTHOUGHT + "summary/summary_complexor.json",
        "re-annotated (corrected answers; multi is infeasible)",
        _ORTHOUGHT_TYPE,
    ),
    _v(
        "complexor",
        "Chain-of-Experts",
        "Chain-of-Experts/ComplexOR",
        load_chain_of_experts,
        _GH + "xzymustbexzy/Chain-of-Experts dataset/ComplexOR/",
        "original folders: description + sample input appended as JSON",
    ),
    # Extras
    _v(
        "icml2024_task3",
        "LLMOPT",
        "LLMOPT/task3_test.jsonl",
        load_records,
        _LLMOPT + "task3_test.jsonl",
        "ICML 2024 AI4Math track 3, labels by LLMOPT",
        fields=_PLAIN,
        default=True,
    ),
    _v(
        "logior",
        "ORThought",
        "ORThought/summary_logior.json",
        load_records,
        _ORTHOUGHT + "summary/summary_logior.json",
        "LogiOR logistics problems",
        _ORTHOUGHT_TYPE,
        fields=_ORTHOUGHT_FIELDS,
        default=True,
    ),
    _v(
        "bwor",
        "or_llm_agent",
        "or_llm_agent/BWOR.json",
        load_records,
        _ORLLM + "BWOR.json",
        "OR textbook problems (English text; Chinese original in extra['cn_question'])",
        "source `difficulty` (always Medium)",
        fields=_EN_DIFFICULTY,
        default=True,
    ),
)
