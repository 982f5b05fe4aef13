#include "tests/corpus/record.hpp"

#include <rapidjson/document.h>

#include "tools/json.hpp"

namespace xo::corpus {

namespace {

void write_outcome(cli::JsonWriter& j, const char* key, const Outcome& o) {
  j.key(key);
  j.begin_object();
  j.field("ran", o.ran);
  j.field("ok", o.ok);
  j.field("reason", o.reason);
  j.field("stage", o.stage);
  j.field("code", o.code);
  j.end_object();
}

void write_strings(cli::JsonWriter& j, const char* key, const std::vector<std::string>& v) {
  j.key(key);
  j.begin_array();
  for (const auto& s : v) j.value(s);
  j.end_array();
}

std::string str(const rapidjson::Value& o, const char* key) {
  auto it = o.FindMember(key);
  return it != o.MemberEnd() && it->value.IsString() ? std::string(it->value.GetString(), it->value.GetStringLength())
                                                     : std::string();
}

bool boolean(const rapidjson::Value& o, const char* key) {
  auto it = o.FindMember(key);
  return it != o.MemberEnd() && it->value.IsBool() && it->value.GetBool();
}

Outcome read_outcome(const rapidjson::Value& o, const char* key) {
  Outcome out;
  auto it = o.FindMember(key);
  if (it == o.MemberEnd() || !it->value.IsObject()) return out;
  const auto& v = it->value;
  out.ran = boolean(v, "ran");
  out.ok = boolean(v, "ok");
  out.reason = str(v, "reason");
  out.stage = str(v, "stage");
  auto c = v.FindMember("code");
  if (c != v.MemberEnd() && c->value.IsInt()) out.code = c->value.GetInt();
  return out;
}

std::vector<std::string> read_strings(const rapidjson::Value& o, const char* key) {
  std::vector<std::string> out;
  auto it = o.FindMember(key);
  if (it == o.MemberEnd() || !it->value.IsArray()) return out;
  for (const auto& s : it->value.GetArray())
    if (s.IsString()) out.emplace_back(s.GetString(), s.GetStringLength());
  return out;
}

}  // namespace

std::string to_json(const ProgramRecord& r) {
  cli::JsonWriter j;
  j.begin_object();
  j.field("origin", r.origin);
  j.field("source", r.source);
  j.field("object", r.object);
  j.field("program", r.program);
  j.field("section", r.section);
  j.field("compiled", r.compiled);
  j.field("compile_error", r.compile_error);
  write_outcome(j, "native", r.native);
  write_outcome(j, "tc", r.tc);
  write_outcome(j, "chain", r.chain);
  write_strings(j, "guest_side", r.guest_side);
  write_strings(j, "used_maps", r.used_maps);
  write_strings(j, "notes", r.notes);
  j.field("crash", r.crash);
  j.field("target", r.target());
  j.end_object();
  return j.str();
}

Result<ProgramRecord> from_json(const std::string& text) {
  rapidjson::Document d;
  d.Parse(text.c_str(), text.size());
  if (d.HasParseError() || !d.IsObject()) return err("corpus record: not a JSON object");
  ProgramRecord r;
  r.origin = str(d, "origin");
  r.source = str(d, "source");
  r.object = str(d, "object");
  r.program = str(d, "program");
  r.section = str(d, "section");
  r.compiled = boolean(d, "compiled");
  r.compile_error = str(d, "compile_error");
  r.native = read_outcome(d, "native");
  r.tc = read_outcome(d, "tc");
  r.chain = read_outcome(d, "chain");
  r.guest_side = read_strings(d, "guest_side");
  r.used_maps = read_strings(d, "used_maps");
  r.notes = read_strings(d, "notes");
  r.crash = str(d, "crash");
  return r;
}

Outcome refused(const Error& e) {
  // Diagnoser messages already say "insn N (file:line)"; describe() would say it twice.
  bool placed = e.pc && e.message.find("insn " + std::to_string(*e.pc)) != std::string::npos;
  return Outcome{true, false, placed ? e.message : e.describe(), std::string(stage_name(e.stage)), e.code};
}

}  // namespace xo::corpus
