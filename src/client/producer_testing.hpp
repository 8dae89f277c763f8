// A fault a test can inject into every Producer of the process: each batch is appended twice,
// as a retry after a lost acknowledgement would append it, and the second answer is the one
// reported. With enable.idempotence the log recognises the second append by its producer id
// and sequence and answers with the original offsets, so nothing is stored twice.
//
// Thread safety: an atomic; set it before producing.
#pragma once

#include <atomic>

namespace brook::client::testing {

extern std::atomic<bool> resend_batches;

}  // namespace brook::client::testing
