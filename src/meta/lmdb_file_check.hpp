// Checks of LMDB's files made before LMDB opens them: none is a symbolic link, and the data
// file's length matches its own meta pages.
//
// LMDB opens its directory and files following symbolic links, so a link planted in place of
// the metadata directory, data.mdb or lock.mdb could make brook read or write a file outside
// the store. brook opens its own files with O_NOFOLLOW; these are refused before LMDB runs.
//
// LMDB maps data.mdb and follows page numbers without bounds checks, so a file cut short (a
// failed copy, a full disk while restoring a backup) makes it read past the end of the mapping
// and the process dies with SIGBUS. Each of LMDB's two meta pages records the last page in use;
// a file shorter than the newest valid meta page says it is, is refused as corruption instead.
//
// A writer in another process may commit while a reader runs the check: the length is read
// after the meta pages, so a file that grew meanwhile is never taken for one cut short.
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

// @return ok if neither `dir` nor its data.mdb and lock.mdb is a symbolic link (missing ones
//         are fine); corruption naming the link and what to do otherwise; io_error if one
//         cannot be examined.
Status check_lmdb_not_symbolic_links(const std::string& dir);

}  // namespace brook::meta
