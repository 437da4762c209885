"""An ExampleGen that reads CSV and Parquet at Arrow speed and writes the same Examples as stock CsvExampleGen."""
