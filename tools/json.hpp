// CLI JSON output (trusted data only), written through rapidjson's streaming
// Writer, which does the escaping and the commas. Commands only say what to
// write:
//   JsonWriter j; j.begin_object(); j.key("n"); j.value(1); j.end_object();
#pragma once

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace xo::cli {

class JsonWriter {
 public:
  void begin_object() { w_.StartObject(); }
  void end_object() { w_.EndObject(); }
  void begin_array() { w_.StartArray(); }
  void end_array() { w_.EndArray(); }

  // Inside an object: the next value's key.
  void key(std::string_view k) { w_.Key(k.data(), static_cast<rapidjson::SizeType>(k.size())); }
  void value(std::string_view s) { w_.String(s.data(), static_cast<rapidjson::SizeType>(s.size())); }
  void value(const char* s) { value(std::string_view(s)); }
  void value(const std::string& s) { value(std::string_view(s)); }
  void value(std::int64_t v) { w_.Int64(v); }
  void value(std::uint64_t v) { w_.Uint64(v); }
  void value(int v) { w_.Int(v); }
  void value(unsigned v) { w_.Uint(v); }
  void value(bool v) { w_.Bool(v); }
  void null() { w_.Null(); }
  template <typename T>
  void field(std::string_view k, const T& v) {
    key(k);
    value(v);
  }

  const std::string& str() const {
    out_.assign(buf_.GetString(), buf_.GetSize());
    return out_;
  }

 private:
  rapidjson::StringBuffer buf_;
  rapidjson::Writer<rapidjson::StringBuffer> w_{buf_};
  mutable std::string out_;
};

}  // namespace xo::cli
