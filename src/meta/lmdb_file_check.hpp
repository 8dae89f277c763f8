// A check of an LMDB data file's length against its own meta pages, made before LMDB maps it.
//
// LMDB maps data.mdb and follows page numbers without bounds checks, so a file cut short (a
// failed copy, a full disk while restoring a backup) makes it read past the end of the mapping
// and the process dies with SIGBUS. Each of LMDB's two meta pages records the last page in use;
// a file shorter than the newest valid meta page says it is, is refused as corruption instead.
//
// Thread safety: a pure function of the file; callable from any thread.
#pragma once

#include <brook/status.hpp>
#include <string>

namespace brook::meta {

// @return ok if `data_path` is long enough for the pages its newest valid meta page uses, or
//         if it has no valid meta page at all (LMDB itself then refuses it);
//         corruption naming the file and both lengths if it is too short;
//         io_error if it cannot be read.
Status check_lmdb_file_length(const std::string& data_path);

}  // namespace brook::meta
