#pragma once
// The data plane's read buffers: contiguous, pooled per worker (data_plane_impl.hpp takes and gives
// them), so a request allocates none.
#include <boost/asio/buffer.hpp>

#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>
#include <utility>

namespace banyan::proxy {

namespace asio = boost::asio;

// A contiguous read buffer. Views handed out stay valid until the next writable() call, which may
// compact the unread bytes to the front.
class io_buffer {
 public:
  bool has_storage() const noexcept { return data_ != nullptr; }
  std::string_view readable() const noexcept { return {data_ + begin_, end_ - begin_}; }
  std::size_t size() const noexcept { return end_ - begin_; }
  bool full() const noexcept { return begin_ == 0 && end_ == capacity_; }
  std::size_t capacity() const noexcept { return capacity_; }
  asio::mutable_buffer writable() noexcept {
    if (begin_ > 0 && end_ == capacity_) {
      std::memmove(data_, data_ + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
    }
    return {data_ + end_, capacity_ - end_};
  }
  void commit(std::size_t n) noexcept { end_ += n; }
  void consume(std::size_t n) noexcept {
    begin_ += n;
    if (begin_ == end_) begin_ = end_ = 0;
  }
  io_buffer() = default;
  io_buffer(io_buffer&& o) noexcept { *this = std::move(o); }
  io_buffer& operator=(io_buffer&& o) noexcept {
    owned_ = std::move(o.owned_);
    data_ = std::exchange(o.data_, nullptr);
    capacity_ = std::exchange(o.capacity_, 0);
    begin_ = std::exchange(o.begin_, 0);
    end_ = std::exchange(o.end_, 0);
    return *this;
  }
  void attach(std::unique_ptr<char[]> storage, std::size_t capacity) noexcept {
    owned_ = std::move(storage);
    data_ = owned_.get();
    capacity_ = capacity;
    begin_ = end_ = 0;
  }
  std::unique_ptr<char[]> detach() noexcept {
    data_ = nullptr;
    capacity_ = begin_ = end_ = 0;
    return std::move(owned_);
  }

 private:
  std::unique_ptr<char[]> owned_;
  char* data_ = nullptr;
  std::size_t capacity_ = 0, begin_ = 0, end_ = 0;
};

}  // namespace banyan::proxy
