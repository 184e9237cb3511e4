// A value-or-error result: expected failures (device missing, EINTR, chrony down)
// travel as values, never as exceptions across the event loop.
#pragma once

#include <cstring>
#include <string>
#include <utility>
#include <variant>

namespace vmrefclock {

struct Error {
    int code = 0;  // errno when the failure came from a system call, else 0
    std::string message;
};

template <typename T>
class Result {
  public:
    Result(T value) : v_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
    Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }
    T& value() { return std::get<0>(v_); }
    const T& value() const { return std::get<0>(v_); }
    T& operator*() { return value(); }
    const T& operator*() const { return value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    const Error& error() const { return std::get<1>(v_); }

  private:
    std::variant<T, Error> v_;
};

// For operations that produce nothing but can fail.
struct Ok {};
using Status = Result<Ok>;

inline Error make_error(std::string message, int code = 0) {
    return Error{code, std::move(message)};
}

// "what: <strerror(e)>" with e as the code; pass errno saved before any other call.
inline Error errno_error(const std::string& what, int e) {
    return make_error(what + ": " + std::strerror(e), e);
}

}  // namespace vmrefclock
