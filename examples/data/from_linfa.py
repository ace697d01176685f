"""Write iris.csv and diabetes.csv from the gzipped CSVs of linfa-datasets 0.7.1.

Usage: python3 from_linfa.py DATA_DIR
where DATA_DIR is the crate's data/ folder, for example
~/.cargo/registry/src/*/linfa-datasets-0.7.1/data after `cargo fetch` of a
crate that depends on linfa-datasets = "=0.7.1".

Feature cells are copied as text, so no value is rounded. Iris's species
index (0, 1, 2) is written as its name, in the order of the UCI file.
Diabetes comes as two files without header rows; they are joined into one
file with a header, and the integer targets are written without exponent.
"""

import csv
import gzip
import sys
from pathlib import Path

SPECIES = ["setosa", "versicolor", "virginica"]
DIABETES_COLUMNS = ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6", "target"]


def read_gz_csv(path):
    with gzip.open(path, "rt", newline="") as file:
        return list(csv.reader(file))


def write_iris(data_dir, out_dir):
    header, *rows = read_gz_csv(data_dir / "iris.csv.gz")
    assert header == ["sepal_length", "sepal_width", "petal_length", "petal_width", "species"], header
    assert len(rows) == 150, len(rows)
    with open(out_dir / "iris.csv", "w", newline="") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow(row[:4] + [SPECIES[int(row[4])]])


def write_diabetes(data_dir, out_dir):
    features = read_gz_csv(data_dir / "diabetes_data.csv.gz")
    targets = read_gz_csv(data_dir / "diabetes_target.csv.gz")
    assert len(features) == len(targets) == 442, (len(features), len(targets))
    with open(out_dir / "diabetes.csv", "w", newline="") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(DIABETES_COLUMNS)
        for row, (target,) in zip(features, targets):
            assert len(row) == 10, row
            value = float(target)
            assert value == int(value), target
            writer.writerow(row + [str(int(value))])


def main():
    data_dir = Path(sys.argv[1])
    out_dir = Path(__file__).resolve().parent
    write_iris(data_dir, out_dir)
    write_diabetes(data_dir, out_dir)


if __name__ == "__main__":
    main()
