#pragma once

// XPUSIM_ASAN is defined when this translation unit is compiled with AddressSanitizer: GCC
// defines __SANITIZE_ADDRESS__, clang answers __has_feature(address_sanitizer) instead.
#if defined(__SANITIZE_ADDRESS__)
#define XPUSIM_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define XPUSIM_ASAN 1
#endif
#endif

namespace xpusim {

#ifdef XPUSIM_ASAN
inline constexpr bool kAddressSanitizer = true;
#else
inline constexpr bool kAddressSanitizer = false;
#endif

}  // namespace xpusim
