"""The data card (data_card.md) of the data a run read, in the structure of Datasheets for Datasets (Gebru et al.)
and Google's Data Cards: composition, collection and provenance, labeling, known issues, maintenance.

A program knows those parts from the statistics and ML Metadata (the report's facts). It cannot know why the data
was collected, what it is for or its risks: those come from the Markdown file `[report] data_card_file` names,
kept by people beside the data, and are copied in as written. Every value from the data goes through
components/safe_text, so a label or id cannot inject Markdown or HTML.
"""
from components.safe_text import markdown_cell, markdown_text

HUMAN_PART_MISSING = ("_Not written yet: motivation, intended uses, uses to avoid, risks and distribution are known "
                      "to people, not to the pipeline. Write them in a Markdown file and name it in the config: "
                      "`[report] data_card_file = \"data/data_card.md\"`._")


def _table(header, rows):
    lines = ["| " + " | ".join(markdown_cell(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(markdown_cell(c) for c in row) + " |" for row in rows]
    return lines


def _number(value, digits=3):
    if value is None:
        return "–"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def _composition(data, provenance):
    lines = ["## Composition", ""]
    if provenance:
        splits = ", ".join(f"{markdown_text(s)}: {n}" for s, n in provenance["examples_per_split"].items())
        lines.append(f"- examples per split: {splits or '–'}")
        for name, counts in [("label", provenance["label_counts"]), *provenance["metadata_counts"].items()]:
            values = ", ".join(f"{markdown_text(v)} {n}" for v, n in counts.items())
            lines.append(f"- examples per {markdown_text(name)}: {values or '–'}")
    if data:
        first = data["splits"][0]
        lines += ["", f"Features (TFDV statistics; summary of the {markdown_text(first)} split):", ""]
        rows = []
        for feature in data["features"]:
            split = feature["splits"].get(first, {})
            missing = split.get("missing_share")
            numeric = feature.get("numeric")
            summary = (f"mean {numeric['mean']:.2f}, range {numeric['min']:.2f} to {numeric['max']:.2f}" if numeric
                       else f"{feature['unique']} distinct" if feature.get("unique") is not None else "")
            rows.append([feature["name"], feature["type"], split.get("count", "–"),
                         "–" if missing is None else f"{100 * missing:.1f}%", summary])
        lines += _table(["feature", "type", "count", "missing", "summary"], rows)
    return lines + [""]


def _collection(provenance, run):
    lines = ["## Collection and provenance", ""]
    if not provenance:
        return lines + ["_No provenance recorded (the Provenance component did not run)._", ""]
    for key, value in provenance["source"].items():
        lines.append(f"- {key.replace('_', ' ')}: {markdown_text(value)}")
    for key, value in provenance["inventory"].items():
        lines.append(f"- {key.replace('_', ' ')}: {markdown_text(value)}")
    for file in provenance["input_files"]:
        lines.append(f"- input file: `{markdown_text(file.get('name', ''))}` ({file.get('bytes', '?')} bytes, "
                     f"sha256 {markdown_text(file.get('sha256', ''))})")
    return lines + [""]


def _labeling(provenance, labels, suspects):
    lines = ["## Labeling", ""]
    if provenance:
        lines.append(f"- labelers: {markdown_text(', '.join(map(str, provenance['labelers'])) or '–')}")
        version = provenance["source"].get("instructions_version")
        if version:
            lines.append(f"- labeling instructions: {markdown_text(provenance['source'].get('instructions_file', ''))}"
                         f" (version {markdown_text(version[:12])})")
    if labels:
        lines.append(f"- agreement: Krippendorff's alpha {_number(labels['krippendorff_alpha'])}, Fleiss' kappa "
                     f"{_number(labels['fleiss_kappa'])}; gate **{markdown_text(labels['gate']['status'])}**")
        lines += ["", "Agreement per class (worst first):", ""]
        lines += _table(["class", "alpha (class vs rest)", "Fleiss kappa", "positive specific agreement", "labels"],
                        [[c["name"], _number(c.get("krippendorff_alpha")), _number(c.get("fleiss_kappa")),
                          _number(c.get("positive_specific_agreement")), c.get("support", "–")]
                         for c in labels["per_class"]])
    errors = (suspects or {}).get("label_errors")
    if errors:
        lines += ["", f"Estimated label noise (confident learning): {100 * errors['estimated_noise_rate']:.1f}% "
                  f"overall; per class: " + ", ".join(f"{markdown_text(c['class'])} "
                                                      f"{100 * c['estimated_noise_rate']:.1f}%"
                                                      for c in errors["classes"])]
    return lines + [""]


def _known_issues(data, labels, suspects, extra):
    lines = ["## Known issues", ""]
    for anomaly in (data or {}).get("anomalies", []):
        lines.append(f"- anomaly in {markdown_text(anomaly['split'])}, feature {markdown_text(anomaly['feature'])}: "
                     f"{markdown_text(anomaly['description'])}")
    if labels and labels["classes_to_review"]:
        lines.append("- classes whose labeling instructions need revision (worst first): "
                     + ", ".join(markdown_text(c) for c in labels["classes_to_review"]))
    suspects = suspects or {}
    if "conflicts" in suspects:
        c = suspects["conflicts"]
        lines.append(f"- {c['groups']} group(s) of near-identical examples with different labels "
                     f"({c['examples_in_conflict']} examples)")
    if "label_errors" in suspects:
        lines.append(f"- {suspects['label_errors']['label_issues']} likely label error(s) flagged")
    if "review_queue" in suspects:
        lines.append(f"- {suspects['review_queue']['rows']} example(s) in the review queue: "
                     f"{markdown_text(suspects['review_queue']['uri'])}")
    lines += extra
    if len(lines) == 2:
        lines.append("- none found by this run's checks")
    return lines + [""]


def _maintenance(facts, run, provenance):
    versions = (run or {}).get("versions", {})
    lines = ["## Maintenance", "",
             f"- data version: {markdown_text(versions.get('data_version') or '–')}"]
    if versions.get("base_data_version"):
        lines.append(f"- corrected from data version {markdown_text(versions['base_data_version'])} with "
                     f"{versions.get('corrections_applied', 0)} correction(s)")
    lines += [f"- this card: run {markdown_text(facts['run_id'])} ({markdown_text(facts['time'])}); rebuild it with "
              f"`python -m pipeline report --run {markdown_text(facts['run_id'])}`",
              "- history of data versions, corrections and agreement: `python -m pipeline runs`"]
    return lines + [""]


def render(facts, human_text, human_path):
    """The data card's Markdown. `human_text` is the people-written part (None when there is none)."""
    sections = facts["sections"]
    provenance, data, labels = sections.get("provenance"), sections.get("data"), sections.get("labels")
    suspects, run = sections.get("suspects"), sections.get("run")
    title = (provenance or {}).get("source", {}).get("source_name") or facts["pipeline"]
    extra = [f"- {markdown_text(line)}" for name, section in sections.items()
             for line in section.get("data_card_issues", [])]  # sections added later (e.g. drift) report here
    lines = [f"# Data card: {markdown_text(title)}", "",
             f"Data version {markdown_text(((run or {}).get('versions') or {}).get('data_version') or '–')}, "
             f"as read by run {markdown_text(facts['run_id'])}. Written by tfx-datacentric from the run's statistics "
             "and ML Metadata; the part on motivation, uses and risks is kept by people.", "",
             "## Motivation, intended use and risks", ""]
    if human_text:
        lines += [f"_From `{markdown_text(human_path)}`:_", "", _demote_headings(human_text.strip()), ""]
    elif human_path:
        lines += [f"_`[report] data_card_file` names `{markdown_text(human_path)}`, which does not exist._ "
                  + HUMAN_PART_MISSING, ""]
    else:
        lines += [HUMAN_PART_MISSING, ""]
    lines += _composition(data, provenance) + _collection(provenance, run) + _labeling(provenance, labels, suspects)
    lines += _known_issues(data, labels, suspects, extra) + _maintenance(facts, run, provenance)
    return "\n".join(lines).rstrip() + "\n"


def _demote_headings(text):
    """The people-written file's headings one level down, under the card's own '## Motivation, ...' heading."""
    return "\n".join("#" + line if line.startswith("#") else line for line in text.splitlines())
