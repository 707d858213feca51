#include "common/shape/state_file.h"

#include <zlib.h>

#include <cstring>
#include <optional>

#include "common/shape/shape_state.pb.h"

namespace antiphase::shape {
namespace {

constexpr char kMagic[8] = {'A', 'P', 'S', 'H', 'A', 'P', 'E', '\0'};

uint32_t crc_of(std::string_view bytes) {
  return static_cast<uint32_t>(
      crc32_z(0L, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<z_size_t>(bytes.size())));
}

void put_u32(std::string* out, uint32_t value) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>(value >> (8 * i) & 0xff));
}

uint32_t get_u32(std::string_view bytes, size_t at) {
  uint32_t value = 0;
  for (int i = 0; i < 4; ++i) value |= static_cast<uint32_t>(static_cast<uint8_t>(bytes[at + i])) << (8 * i);
  return value;
}

void to_proto(const FoldSpec& spec, const FoldedProfile::Raw& raw, proto::FoldState* out) {
  out->set_slots(spec.slots);
  out->set_period_s(spec.period_s);
  out->set_base_period(raw.base_period);
  out->set_latest_period(raw.latest_period);
  out->set_seen_any(raw.seen_any);
  out->mutable_mean()->Add(raw.mean.begin(), raw.mean.end());
  out->mutable_m2()->Add(raw.m2.begin(), raw.m2.end());
  out->mutable_peak()->Add(raw.peak.begin(), raw.peak.end());
  out->mutable_weight()->Add(raw.weight.begin(), raw.weight.end());
}

void to_proto(const ShapeModel& model, proto::ModelState* out) {
  const ShapeConfig& config = model.config();
  const ShapeModel::Raw raw = model.raw();
  out->set_k(config.k);
  out->set_hour_k(config.hour_k);
  out->set_half_life_periods(config.half_life_periods);
  out->set_full_confidence_s(config.full_confidence_s);
  out->set_samples(raw.samples);
  out->set_history_s(raw.history_s);
  out->set_first_unix_s(raw.first_unix_s);
  out->set_last_unix_s(raw.last_unix_s);
  out->set_highest(raw.highest);
  for (const RecentHighest::Step& s : raw.highest_steps) {
    out->add_highest_step_unix_s(s.unix_s);
    out->add_highest_step_cores(s.cores);
  }
  to_proto(config.day, raw.day, out->mutable_day());
  to_proto(config.hour, raw.hour, out->mutable_hour());
  if (raw.sketch.newest_hour >= 0) {
    out->mutable_sketch()->set_newest_hour_plus_one(raw.sketch.newest_hour + 1);
    out->mutable_sketch()->mutable_sum()->Add(raw.sketch.sum.begin(), raw.sketch.sum.end());
    out->mutable_sketch()->mutable_weight()->Add(raw.sketch.weight.begin(), raw.sketch.weight.end());
  }
}

FoldedProfile::Raw from_proto(const proto::FoldState& in) {
  FoldedProfile::Raw raw;
  raw.base_period = in.base_period();
  raw.latest_period = in.latest_period();
  raw.seen_any = in.seen_any();
  raw.mean.assign(in.mean().begin(), in.mean().end());
  raw.m2.assign(in.m2().begin(), in.m2().end());
  raw.peak.assign(in.peak().begin(), in.peak().end());
  raw.weight.assign(in.weight().begin(), in.weight().end());
  return raw;
}

// The highest-use window is the caller's (`like`): configuration, not learned state.
std::optional<ShapeModel> from_proto(const proto::ModelState& in, const ShapeConfig& like, std::string* error) {
  ShapeConfig config;
  config.day = {in.day().slots(), in.day().period_s()};
  config.hour = {in.hour().slots(), in.hour().period_s()};
  config.k = in.k();
  config.hour_k = in.hour_k();
  config.half_life_periods = in.half_life_periods();
  config.full_confidence_s = in.full_confidence_s();
  config.highest_window_s = like.highest_window_s;
  config.highest_window_after_relief = like.highest_window_after_relief;
  if (auto problem = validate(config)) {
    *error = "bad model config: " + *problem;
    return std::nullopt;
  }
  ShapeModel model(config);
  ShapeModel::Raw raw{in.samples(),         in.history_s(),         in.first_unix_s(),
                      in.last_unix_s(),     from_proto(in.day()),   from_proto(in.hour()), {}, in.highest(), {}};
  if (in.has_sketch() && in.sketch().newest_hour_plus_one() > 0) {
    raw.sketch.newest_hour = in.sketch().newest_hour_plus_one() - 1;
    raw.sketch.sum.assign(in.sketch().sum().begin(), in.sketch().sum().end());
    raw.sketch.weight.assign(in.sketch().weight().begin(), in.sketch().weight().end());
  }
  if (in.highest_step_unix_s_size() != in.highest_step_cores_size()) {
    *error = "highest steps: " + std::to_string(in.highest_step_unix_s_size()) + " times but " +
             std::to_string(in.highest_step_cores_size()) + " heights";
    return std::nullopt;
  }
  for (int i = 0; i < in.highest_step_unix_s_size(); ++i)
    raw.highest_steps.push_back({in.highest_step_unix_s(i), in.highest_step_cores(i)});
  if (!model.restore(raw)) {
    *error = "inconsistent model state (slot counts, negative or non-finite values)";
    return std::nullopt;
  }
  return model;
}

}  // namespace

std::string serialize_state(const std::map<std::string, ShapeModel>& functions, const ShapeModel& host,
                            bool relief_followed) {
  proto::ShapeState state;
  state.set_relief_followed(relief_followed);
  for (const auto& [name, model] : functions) {  // std::map: sorted, so bytes are deterministic
    proto::NamedModel* entry = state.add_functions();
    entry->set_function(name);
    to_proto(model, entry->mutable_model());
  }
  to_proto(host, state.mutable_host());
  std::string payload;
  state.SerializeToString(&payload);

  std::string out(kMagic, sizeof kMagic);
  put_u32(&out, kStateFormat);
  put_u32(&out, static_cast<uint32_t>(payload.size()));
  put_u32(&out, crc_of(payload));
  return out + payload;
}

bool deserialize_state(std::string_view bytes, std::map<std::string, ShapeModel>* functions, ShapeModel* host,
                       std::string* error, bool* relief_followed) {
  std::string scratch;
  if (!error) error = &scratch;
  if (bytes.size() < kStateHeaderBytes) {
    *error = "state file too short (" + std::to_string(bytes.size()) + " bytes, header is " +
             std::to_string(kStateHeaderBytes) + ")";
    return false;
  }
  if (std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0) {
    *error = "not an antiphase shape state file (bad magic)";
    return false;
  }
  if (const uint32_t format = get_u32(bytes, 8); format != kStateFormat) {
    *error = "unsupported state format " + std::to_string(format) + " (expected " + std::to_string(kStateFormat) + ")";
    return false;
  }
  const std::string_view payload = bytes.substr(kStateHeaderBytes);
  if (get_u32(bytes, 12) != payload.size()) {
    *error = "state payload length " + std::to_string(payload.size()) + " does not match header (" +
             std::to_string(get_u32(bytes, 12)) + "): truncated or padded";
    return false;
  }
  if (get_u32(bytes, 16) != crc_of(payload)) {
    *error = "state file checksum mismatch (corrupt)";
    return false;
  }
  proto::ShapeState state;
  if (!state.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
    *error = "state payload is not a valid protobuf message";
    return false;
  }
  std::map<std::string, ShapeModel> restored;
  for (const proto::NamedModel& entry : state.functions()) {
    auto model = from_proto(entry.model(), host->config(), error);
    if (!model) {
      *error = "function '" + entry.function() + "': " + *error;
      return false;
    }
    if (!restored.emplace(entry.function(), std::move(*model)).second) {
      *error = "function '" + entry.function() + "' appears twice";
      return false;
    }
  }
  auto restored_host = from_proto(state.host(), host->config(), error);
  if (!restored_host) {
    *error = "host aggregate: " + *error;
    return false;
  }
  *functions = std::move(restored);
  *host = std::move(*restored_host);
  if (relief_followed) *relief_followed = state.relief_followed();
  return true;
}

}  // namespace antiphase::shape
