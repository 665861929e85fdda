#pragma once
// Reading and writing the tuple file (tuples.npy or tuples.csv), the contract
// between the engine's measurements and everything downstream.
//
// tuples.npy: NumPy .npy format (version 1.0 written; 1.0, 2.0 and 3.0 read),
// a 1-D structured array, little-endian, packed, 60 bytes a row (record
// version 2, observers/tuple.hpp):
//   [('doc','<i4'), ('layer','<i4'), ('head','<i4'), ('kv_head','<i4'),
//    ('pos','<i4'), ('token','<i4'), ('q_norm','<f4'), ('entropy','<f4'),
//    ('sink_mass','<f4'), ('max_attn','<f4'), ('entropy_fixed_norm','<f4'),
//    ('neg_var_score','<f4'), ('max_score','<f4'), ('logsumexp','<f4'),
//    ('k_budget','<f4')]
// np.load(path) reads it; a file numpy wrote with that dtype is read here.
//
// tuples.csv: a header line with the fifteen field names in that order, then
// one row per line; floats are written as the shortest text that reads back
// to the same float32 ("nan" for NaN).
//
// Old files (record version 1, written before issue #14: the first ten
// fields, 40 bytes a row, npy or csv, ours or numpy's) are still read: their
// rows become version-2 rows with NaN in the five newer columns (copied into
// memory, not mapped), version() is 1 and has_column() says which columns the
// file had. The writer writes version 2 only.
//
// TupleWriter streams rows (document by document, or any chunking) into a
// temporary file; finish() fixes the npy shape in the header and renames the
// file into place. A writer destroyed without finish() leaves no file.
//
// TupleReader maps tuples.npy (no copy: an 8 GB file costs address space, not
// memory) or parses tuples.csv into memory; rows() is a span either way.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "observers/tuple.hpp"

namespace spectra {

enum class TupleFormat { Npy, Csv };

// Format from the file name: ".csv" → Csv, anything else (".npy") → Npy.
TupleFormat tuple_format_for_path(const std::string& path);

// The exact numpy dtype description written (record version 2), as numpy
// prints it in the header: "[('doc', '<i4'), ..., ('k_budget', '<f4')]".
const std::string& tuple_npy_descr();
// The record-version-1 description (10 fields, ending with max_attn), read only.
const std::string& tuple_npy_descr_v1();
// The column names of record version 2, in order (15).
const char* const* tuple_column_names();

class TupleWriter {
 public:
  // Creates PATH.partial.<pid>; nothing appears at PATH until finish().
  explicit TupleWriter(std::string path);
  TupleWriter(std::string path, TupleFormat format);
  ~TupleWriter();
  TupleWriter(const TupleWriter&) = delete;
  TupleWriter& operator=(const TupleWriter&) = delete;

  void append(std::span<const TupleRow> rows);
  void append(const TupleRow& row) { append(std::span<const TupleRow>(&row, 1)); }
  // Fix the header (npy shape), flush, fsync, rename over PATH. Throws
  // spectra::Error on I/O failure. Appending after finish() is an error.
  void finish();

  uint64_t rows_written() const { return rows_; }
  const std::string& path() const { return path_; }
  TupleFormat format() const { return format_; }

 private:
  struct Impl;
  std::string path_;
  TupleFormat format_;
  uint64_t rows_ = 0;
  bool finished_ = false;
  std::unique_ptr<Impl> impl_;
};

class TupleReader {
 public:
  // Opens PATH; the format comes from the extension (.csv or .npy). Throws
  // spectra::Error naming the file and the byte offset or field at fault.
  explicit TupleReader(const std::string& path);
  ~TupleReader();
  TupleReader(const TupleReader&) = delete;
  TupleReader& operator=(const TupleReader&) = delete;

  std::span<const TupleRow> rows() const { return rows_; }
  uint64_t size() const { return rows_.size(); }
  const std::string& path() const { return path_; }
  TupleFormat format() const { return format_; }
  // The record version of the file: 2, or 1 for a file written before #14.
  int version() const { return version_; }
  // Whether the file has the column NAME (a version-1 file lacks the five
  // #14 columns; their values in rows() are NaN).
  bool has_column(const std::string& name) const;

 private:
  struct Impl;
  std::string path_;
  TupleFormat format_;
  int version_ = kTupleRecordVersion;
  std::span<const TupleRow> rows_;
  std::unique_ptr<Impl> impl_;
};

// The record version of an npy tuple file from its header alone (1 or 2);
// throws spectra::Error like TupleReader when the header is not a tuple file.
int tuple_npy_file_version(const std::string& path);

// Find the tuple file of a run folder: RUN_DIR/tuples.npy, else
// RUN_DIR/tuples.csv; throws if neither exists.
std::string find_tuple_file(const std::string& run_dir);

}  // namespace spectra
