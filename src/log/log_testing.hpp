// Pauses a test can inject into every PartitionLog of the process, to run a race one way on
// purpose.
//
// after_read_bounds: when set, called by PartitionLog::read_raw_into (every read) once the
// read has taken the log's end and start and before it looks its segments up; a test appends,
// rolls and compacts in it, as another thread could at that moment.
//
// Thread safety: atomics; set them before reading and clear them after.
#pragma once

#include <atomic>

namespace brook::log::testing {

extern std::atomic<void (*)()> after_read_bounds;

}  // namespace brook::log::testing
