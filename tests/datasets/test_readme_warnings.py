"""The data README's warnings, one test each: the loaders handle every documented trap."""

from __future__ import annotations

import json
from pathlib import Path

from optiagent.datasets import load_dataset
from optiagent.datasets.loaders import repair_mojibake
from optiagent.datasets.optibench import LAST_KEY_NOT_OBJECTIVE, NO_OBJECTIVE, OBJECTIVE_KEYS


def test_optibench_objective_is_read_from_the_documented_key(data_dir: Path) -> None:
    data = load_dataset("optibench", "ReSocratic", data_dir)
    assert len(LAST_KEY_NOT_OBJECTIVE) == 18
    expected = {4: 2, 20: 2, 476: 2, 490: 2, 78: 4750, 97: 4750, 321: 4750, 82: 22, 289: 22}
    expected |= {49: 78, 493: 14, 545: 13, 423: 330}
    for index, value in expected.items():
        truth = data.get(str(index)).ground_truth
        assert truth.kind == "value" and truth.value == value, index
        assert truth.objective_key == OBJECTIVE_KEYS[index]
    ordinary = data.get("1").ground_truth
    assert ordinary.objective_key == "Total Profit" and ordinary.value == 395000
    assert len(ordinary.requested) == 10


def test_optibench_records_without_objective_keep_their_values(data_dir: Path) -> None:
    data = load_dataset("optibench", "ReSocratic", data_dir)
    for index in NO_OBJECTIVE:
        truth = data.get(str(index)).ground_truth
        assert truth.kind == "missing" and "no objective" in (truth.note or "")
        assert truth.requested, "the all-values rule can still score it"
    assert data.get("42").ground_truth.requested == {
        "The number of miter saws": 15.0,
        "The number of circular saws": 11.0,
    }


def test_optibench_contaminated_record_drops_the_other_problems_keys(data_dir: Path) -> None:
    truth = load_dataset("optibench", "ReSocratic", data_dir).get("423").ground_truth
    assert list(truth.requested) == [
        "The number of deliveries by cart",
        "The number of deliveries by hand",
        "The total number of refills per hour",
    ]


def test_optibench_types_and_tables(data_dir: Path) -> None:
    data = load_dataset("optibench", "ReSocratic", data_dir)
    assert data.category_counts() == {
        "linear-notable": 342,
        "nonlinear-notable": 133,
        "linear-table": 80,
        "nonlinear-table": 50,
    }
    assert sum(p.has_table for p in data.problems) == 130


def test_llmopt_optibench_flags_last_key_answers(data_dir: Path) -> None:
    data = load_dataset("optibench", "LLMOPT", data_dir)
    flagged = {int(p.id) - 1 for p in data.problems if "label_issue" in p.extra}
    assert flagged == set(LAST_KEY_NOT_OBJECTIVE)
    assert data.get("5").ground_truth.value != 2  # LLMOPT kept a variable value for index 4


def test_json_lines_named_json_are_read(data_dir: Path) -> None:
    path = data_dir / "nl4opt/OptMATH/NL4OPT.json"
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert json.loads(first)["en_question"]  # one object per line, despite the extension
    assert len(load_dataset("nl4opt", "OptMATH", data_dir)) == 245


def test_bom_csv_and_list_answers(data_dir: Path) -> None:
    assert (
        data_dir / "mamo_complex/OptiMind_cleaned/optimind_cleaned_classified_mamo_complex.csv"
    ).read_bytes()[:3] == b"\xef\xbb\xbf"
    data = load_dataset("mamo_complex", "OptiMind_cleaned", data_dir)
    first = data.problems[0]
    assert first.category == "Diet Problem"
    assert first.ground_truth.kind == "value" and first.ground_truth.value == 18.0
    assert first.ground_truth.raw == "[18.0]"
    assert all(p.category for p in data.problems)


def test_numeric_strings_and_no_solution_spellings(data_dir: Path) -> None:
    llmopt = load_dataset("nl4opt", "LLMOPT", data_dir)
    lines = (data_dir / llmopt.spec.main_path).read_text(encoding="utf-8").splitlines()
    written = {str(r["index"]): r["answer"] for r in map(json.loads, lines)}
    as_strings = [key for key, answer in written.items() if isinstance(answer, str)]
    assert len(as_strings) == 5
    for key in as_strings:
        assert llmopt.get(key).ground_truth.value == float(written[key])
    orlm = load_dataset("nl4opt", "or_llm_agent", data_dir)
    notes = [p.ground_truth.note for p in orlm.problems if p.ground_truth.kind == "infeasible"]
    assert sum("No Best Solution" in n for n in notes) == 14
    assert sum("-99999" in n for n in notes) == 8
    mamo = load_dataset("mamo_easy", "SIRL", data_dir)
    marked = [p for p in mamo.problems if p.ground_truth.kind == "infeasible"]
    assert [p.ground_truth.raw for p in marked] == ["-9999"]


def test_null_answers_are_kept_and_flagged(data_dir: Path) -> None:
    nlp4lp = load_dataset("nlp4lp", "ORThought", data_dir)
    nulls = [p for p in nlp4lp.problems if p.ground_truth.kind == "missing"]
    assert len(nulls) == 22 and all(p.ground_truth.note == "null in the source" for p in nulls)
    industry = load_dataset("industryor", "ORThought", data_dir)
    assert industry.get("prob_045").ground_truth.kind == "missing"


def test_complexor_corrections(data_dir: Path) -> None:
    data = load_dataset("complexor", "LLMOPT_corrected", data_dir)
    by_source = {p.extra["answer_source"].split("_", 2)[-1]: p for p in data.problems}
    assert by_source["cell_tower"].ground_truth.value == 250
    assert by_source["dietu_problem"].ground_truth.value == 41
    assert round(by_source["prod"].ground_truth.value or 0, 2) == 55.67
    assert by_source["steel4"].ground_truth.value == 130
    assert by_source["multi"].ground_truth.kind == "infeasible"
    changed = {k for k, p in by_source.items() if "original_answer" in p.extra}
    assert changed == {"cell_tower", "dietu_problem", "prod", "steel4", "multi", "diet_problem"}
    diet = by_source["diet_problem"]
    assert diet.extra["original_answer"] == "10.33"  # LLMOPT's rounding, not a correction
    original = load_dataset("complexor", "LLMOPT", data_dir)
    assert original.get(by_source["multi"].id).ground_truth.value == 235


def test_complexor_folders_append_the_instance_data(data_dir: Path) -> None:
    problem = load_dataset("complexor", "Chain-of-Experts", data_dir).get("aircraft_assignment")
    assert problem.question.endswith('"costs": [[100, 200], [150, 250], [200, 300]]}')
    assert "Data (JSON):" in problem.question and problem.ground_truth.value == 700
    orthought = load_dataset("complexor", "ORThought", data_dir).get("prob_011_multi")
    assert orthought.ground_truth.kind == "infeasible"
    assert "answer.json" in (orthought.ground_truth.note or "")
    assert "- limit: a 2D list" in orthought.question


def test_nlp4lp_folders_attach_parameters(data_dir: Path) -> None:
    data = load_dataset("nlp4lp", "LLM4OR", data_dir)
    first = data.get("0")
    assert json.loads(first.attachments["parameters.json"])["TotalBudget"] == 760000
    assert first.ground_truth.value == 684000
    assert first.task().attachments == first.attachments
    empty = [p for p in data.problems if p.ground_truth.kind == "missing"]
    assert len(empty) == 27 and all("no objective" in (p.ground_truth.note or "") for p in empty)


def test_punctuation_decoded_as_cp1252_is_repaired(data_dir: Path) -> None:
    # not a README warning, but 28 MAMO Complex questions carry it: "citiesâ€”let's"
    data = load_dataset("mamo_complex", None, data_dir)
    assert not [p.id for p in data.problems if "â€" in p.question]
    assert "cities\u2014let's call them A, B, C, and D\u2014to" in data.get("92").question
    assert (
        repair_mojibake("â€œhalfâ€\x9d isnâ€™t â€“ Â£5") == "\u201chalf\u201d isn\u2019t \u2013 Â£5"
    )
