"""WriteConsensus on one record batch: the records it appends to, and disagreement lines whose every cell is inert in
a spreadsheet (ids, labels and class names that look like formulas)."""
import csv
import io

import pyarrow as pa
import tensorflow as tf
from apache_beam.pvalue import TaggedOutput

from components.label_consistency.consensus import WriteConsensus
from components.label_consistency.contract import AGREEMENT_FEATURE, CONSENSUS_FEATURE
from components.label_consistency.encoding import LabelEncoder
from components.safe_text import spreadsheet_row

CLASSES = ["+plus", "=sum", "b"]
ROWS = [  # id, label, labeler_a, labeler_b
    ("=1+1", "b", "=sum", "b"),
    ("ok", "@cmd", "+plus", "+plus"),
    ("-x", "=sum", "b", "=sum"),
    ("lone", "@cmd", "b", None),
    ("none", "-2", None, None),
]


def _column(values):
    return pa.array([[v] if v is not None else None for v in values], pa.large_list(pa.large_binary()))


def test_records_get_the_consensus_and_lines_are_inert():
    columns = list(zip(*ROWS))
    batch = pa.RecordBatch.from_arrays([_column([v.encode() if v else None for v in c]) for c in columns],
                                       ["id", "label", "labeler_a", "labeler_b"])
    records = [tf.train.Example(features=tf.train.Features(feature={"id": tf.train.Feature(
        bytes_list=tf.train.BytesList(value=[row[0].encode()]))})).SerializeToString() for row in ROWS]
    encoder = LabelEncoder(CLASSES, "label", ["labeler_a", "labeler_b"], "id")
    write = WriteConsensus(encoder, CLASSES, "majority")
    write.setup()
    out = list(write.process(("eval", batch, records, encoder.encode(batch))))

    (split, written), lines = out[0], [o.value for o in out[1:] if isinstance(o, TaggedOutput)]
    assert split == "eval" and len(written) == len(ROWS)
    parsed = [tf.train.Example.FromString(record).features.feature for record in written]
    assert [f["id"].bytes_list.value[0].decode() for f in parsed] == [row[0] for row in ROWS]
    # Ties go to the example's own label; no labeler label: the consensus is the example's label.
    assert [f[CONSENSUS_FEATURE].bytes_list.value[0].decode() for f in parsed] == ["b", "+plus", "=sum", "b", "-2"]
    assert [round(f[AGREEMENT_FEATURE].float_list.value[0], 4) if AGREEMENT_FEATURE in f else None
            for f in parsed] == [0.0, 1.0, 0.0, None, None]

    def expected(row, consensus):
        line = io.StringIO()
        csv.writer(line, lineterminator="").writerow(spreadsheet_row(
            [row[0], row[2] or "", row[3] or "", consensus, "0.0000", row[1], "eval"]))
        return line.getvalue()

    assert lines == [["=1+1", "eval", expected(ROWS[0], "b")], ["-x", "eval", expected(ROWS[2], "=sum")]]
    assert lines[0][2].startswith("'=1+1,") and ",'=sum," in lines[0][2] and ",'=sum," in lines[1][2]
