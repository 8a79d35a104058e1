#pragma once
// A minimal expected<T, E> (std::expected is C++23): a value or the error that replaced it.
#include <utility>
#include <variant>

namespace banyan {

template <class E>
struct unexpected {
  // A constructor, not aggregate initialisation: clang 14 (the fuzz build) lacks C++20's
  // parenthesised aggregate init that unexpected(value) would need.
  explicit unexpected(E e) : error(std::move(e)) {}
  E error;
};
template <class E>
unexpected(E) -> unexpected<E>;

template <class T, class E>
class expected {
 public:
  expected(T value) : v_(std::in_place_index<0>, std::move(value)) {}
  template <class G>
  expected(unexpected<G> e) : v_(std::in_place_index<1>, std::move(e.error)) {}

  explicit operator bool() const noexcept { return v_.index() == 0; }
  bool has_value() const noexcept { return v_.index() == 0; }
  T& operator*() & { return std::get<0>(v_); }
  const T& operator*() const& { return std::get<0>(v_); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  E& error() & { return std::get<1>(v_); }
  const E& error() const& { return std::get<1>(v_); }

 private:
  std::variant<T, E> v_;
};

}  // namespace banyan
