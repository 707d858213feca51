#pragma once
// Which sanitizer a test binary is built with. GCC defines __SANITIZE_*__; clang (14, the
// one .ci/tsan uses) does not and answers __has_feature instead, so both are asked.

namespace antiphase::testing {

#if defined(__has_feature)
#define ANTIPHASE_HAS_FEATURE(x) __has_feature(x)
#else
#define ANTIPHASE_HAS_FEATURE(x) 0
#endif

#if defined(__SANITIZE_THREAD__) || ANTIPHASE_HAS_FEATURE(thread_sanitizer)
inline constexpr bool kThreadSanitizer = true;
#else
inline constexpr bool kThreadSanitizer = false;
#endif

#if defined(__SANITIZE_ADDRESS__) || ANTIPHASE_HAS_FEATURE(address_sanitizer) || ANTIPHASE_HAS_FEATURE(memory_sanitizer)
inline constexpr bool kMemorySanitizer = true;  // address or memory sanitizer: the heap is theirs
#else
inline constexpr bool kMemorySanitizer = false;
#endif

#undef ANTIPHASE_HAS_FEATURE

}  // namespace antiphase::testing
