// What every fuzz target shares: a property check that fails loudly. A violated property
// aborts like a crash, so libFuzzer saves the input and scripts/fuzz reports it.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

#define FUZZ_CHECK(condition, detail)                                                        \
    do {                                                                                     \
        if (!(condition)) {                                                                  \
            const std::string fuzz_detail_ = (detail);                                       \
            std::fprintf(stderr, "%s:%d: property violated: %s\n  %s\n", __FILE__, __LINE__, \
                         #condition, fuzz_detail_.c_str());                                  \
            std::abort();                                                                    \
        }                                                                                    \
    } while (0)
