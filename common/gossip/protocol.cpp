#include "common/gossip/protocol.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <utility>

#include "common/gossip/function_homes.h"
#include "common/gossip/message_codec.h"

namespace antiphase::gossip {
namespace {

constexpr double kJitter = 0.1;               // timers +-10 %, so agents do not act in lockstep
constexpr double kNackFraction = 0.8;         // a PING_REQ helper NACKs after 80 % of the probe timeout
constexpr size_t kMaxQueuedRumours = 8192;
constexpr size_t kMaxRelays = 64;             // PING_REQs served at once (bounds amplification)
constexpr size_t kMaxStrangers = 64;
constexpr size_t kMaxNoticed = 1024;
constexpr uint8_t kMaxPullAttempts = 3;
constexpr size_t kMessageSlackBytes = 1024;   // header, sender block, protobuf framing
constexpr size_t kNewsItemBytes = 12, kMemberRumourBytes = 40, kAverageRecordBytes = 400;
// A pull names what one push should carry by kAverageRecordBytes; records larger than
// that are answered in more pushes, up to this many (bounds what one pull may cost).
constexpr size_t kMaxPushesPerPull = 4;
// A function's news goes to each of its homes this many times, one news interval apart:
// at 5 % loss a home misses all three with odds 1.25e-4, and a home that misses them
// hears again within kFullAnnounceRounds anti-entropy intervals.
constexpr uint8_t kHomeNewsTransmissions = 3;
constexpr uint64_t kFullAnnounceRounds = 10;
constexpr size_t kMaxInterests = 4096;
// A function no home had when asked (new to the fleet, or its homes just changed) is
// asked for again after this, not on every question about it.
constexpr double kMissRetryS = 5;
constexpr double kNever = -std::numeric_limits<double>::infinity();
constexpr double kInfinity = std::numeric_limits<double>::infinity();

const std::shared_ptr<const RecordAuthority>& unsigned_authority() {
  static const std::shared_ptr<const RecordAuthority> authority = std::make_shared<UnsignedAuthority>();
  return authority;
}

bool is_live(PeerState state) { return state == PeerState::Alive || state == PeerState::Suspect; }

template <typename Queue>
void cap_queue(Queue& queue) {
  if (queue.size() >= kMaxQueuedRumours) queue.erase(queue.begin(), queue.begin() + queue.size() / 2);
}

}  // namespace

std::string_view to_string(PeerState state) {
  switch (state) {
    case PeerState::Alive: return "alive";
    case PeerState::Suspect: return "suspect";
    case PeerState::Dead: return "dead";
    case PeerState::Left: return "left";
  }
  return "unknown";
}

Protocol::Protocol(ProtocolConfig config, Identity self, std::vector<Seed> seeds, uint64_t rng_seed,
                   std::shared_ptr<const RecordAuthority> authority)
    : config_(config), self_(std::move(self)), seeds_(std::move(seeds)), rng_(rng_seed),
      authority_(authority ? std::move(authority) : unsigned_authority()),
      store_(self_.node_id, self_.generation, config_, *authority_),
      health_(config_.max_local_health) {
  // Never gossip to ourselves through a seed list that includes our own endpoint.
  std::erase_if(seeds_, [this](const Seed& seed) { return seed.endpoint == self_.endpoint; });
  caught_up_ = seeds_.empty();  // the first member of a fleet (or a lone one)
  store_.set_listener(this);
  set_node_state(local_, 0);
  next_probe_at_ = rng_.unit() * config_.probe_interval_s;
}

Protocol::~Protocol() { store_.set_listener(nullptr); }

// ---------------------------------------------------------------- local writes

void Protocol::set_node_state(const LocalNodeState& state, double now) {
  if (left_) return;
  local_ = state;
  NodeBody body{self_.endpoint, state.capacity_cores, self_.public_key, authority_->sign_key(), false};
  if (const RecordRef record = store_.write_self(std::move(body), state.host_summary, now)) queue_news(*record);
}

bool Protocol::publish_function(const std::string& function, std::string summary, double now) {
  const RecordRef record = store_.write_function(function, std::move(summary), now);
  if (!record) return false;
  if (!homed()) {
    queue_news(*record);
    return true;
  }
  std::vector<uint64_t> homes = homes_of(record->key_hash);
  announce_to_homes(*record, homes, kHomeNewsTransmissions);
  announced_[record->key_hash] = std::move(homes);
  return true;
}

// ---------------------------------------------------------------- helpers

Sender Protocol::sender() const { return Sender{self_.node_id, self_.generation, self_.endpoint, self_.public_key}; }

Message Protocol::message(MessageType type) const {
  Message m;
  m.type = type;
  m.from = sender();
  return m;
}

Outgoing Protocol::to(const Member& member, Message message) const {
  Contact contact = contact_in(*member.node);
  return Outgoing{std::move(contact.endpoint), std::move(contact.public_key), std::move(message)};
}

Outgoing Protocol::to(const Contact& contact, Message message) const {
  return Outgoing{contact.endpoint, contact.public_key, std::move(message)};
}

Protocol::Contact Protocol::contact_in(const Record& node) {
  return Contact{std::string(node.endpoint()), std::string(node.curve_key())};
}

std::optional<Protocol::Contact> Protocol::contact_of(uint64_t fp) const {
  if (const Member* m = store_.member(fp)) return contact_in(*m->node);
  if (const auto it = strangers_.find(fp); it != strangers_.end()) return it->second;
  return std::nullopt;
}

size_t Protocol::live_peers() const {
  const size_t live = store_.count(PeerState::Alive) + store_.count(PeerState::Suspect);
  return live - (is_live(store_.self().state) ? 1 : 0);
}

double Protocol::jittered(double seconds) { return seconds * (1 - kJitter + 2 * kJitter * rng_.unit()); }

unsigned Protocol::transmit_limit(bool membership) const {
  // news_multiplier 0 turns record rumours off (anti-entropy alone spreads records: an
  // experiment, see docs/gossip.md); membership rumours always go out.
  const double multiplier = membership ? std::max(1.0, config_.news_multiplier) : config_.news_multiplier;
  if (multiplier <= 0) return 0;
  const double n = static_cast<double>(store_.members().size());
  return std::max(4u, static_cast<unsigned>(std::ceil(multiplier * std::log(n + 1))) + 2);
}

const Member* Protocol::random_live_member(uint64_t exclude_a, uint64_t exclude_b) {
  const auto& members = store_.members();
  if (members.capacity() == 0) return nullptr;
  auto usable = [&](const Member* m) {
    return m && is_live(m->state) && m->fp() != store_.self_fp() && m->fp() != exclude_a && m->fp() != exclude_b &&
           !m->node->endpoint().empty();
  };
  // Random slots until one holds a usable member: uniform over members, no scan. The
  // table is at least 55 % full, so a few tries do unless almost nobody is usable.
  for (int tries = 0; tries < 48; ++tries)
    if (const Member* m = members.slot(rng_.below(members.capacity())); usable(m)) return m;
  const size_t start = rng_.below(members.capacity());
  for (size_t i = 0; i < members.capacity(); ++i)
    if (const Member* m = members.slot((start + i) % members.capacity()); usable(m)) return m;
  return nullptr;
}

const Member* Protocol::next_probe_target() {
  // Every member once per pass, in a fresh random order each pass (SWIM's round-robin
  // probing bounds the time until a failed member is probed), without storing the order:
  // a random start and a stride coprime with the table size walk every slot once.
  const auto& members = store_.members();
  const size_t capacity = members.capacity();
  for (size_t step = 0; step < capacity; ++step) {
    if (probe_steps_ == 0 || probe_steps_ >= capacity) {
      probe_cursor_ = rng_.below(capacity);
      do {
        probe_stride_ = 1 + rng_.below(std::max<size_t>(capacity - 1, 1));
      } while (std::gcd(probe_stride_, capacity) != 1);
      probe_steps_ = 0;
    }
    probe_cursor_ = (probe_cursor_ + probe_stride_) % capacity;
    ++probe_steps_;
    const Member* m = members.slot(probe_cursor_);
    if (m && is_live(m->state) && m->fp() != store_.self_fp() && !m->node->endpoint().empty()) return m;
  }
  return nullptr;
}

MemberNews Protocol::rumour_about(const Member& member, PeerState state) const {
  return MemberNews{member.fp(), member.generation(), member.version(), state, store_.self_fp()};
}

// ---------------------------------------------------------------- timers

std::vector<Outgoing> Protocol::tick(double now) {
  std::vector<Outgoing> out;
  probe_step(now, out);
  relay_step(now, out);
  suspicion_step(now, out);
  if (now >= next_news_at_ && (!news_.empty() || !member_news_.empty() || !home_news_.empty())) send_news(now, out);
  send_pulls(now, out);
  last_pull_round_at_ = now;
  if (now >= next_ae_at_ && !left_) {
    if (homed()) {
      tend_homes(now);
      // What it queued for the homes goes out with this tick, not with another at once.
      if (now >= next_news_at_ && !home_news_.empty()) send_news(now, out);
    }
    start_anti_entropy(now, out);
  }
  if (now >= next_purge_at_) {
    store_.purge(now);
    next_purge_at_ = now + std::min(1.0, config_.probe_interval_s);
  }
  check_caught_up();  // a want given up on (kMaxPullAttempts) is no longer waited for
  return out;
}

void Protocol::check_caught_up() {
  if (caught_up_ || !compared_) return;
  bool given_up = false;
  std::erase_if(catching_up_, [&](uint64_t key) {
    if (wants_.count(key)) return false;
    given_up |= store_.find(key) == nullptr;  // pulled in vain: the next comparison starts over
    return true;
  });
  if (given_up) {
    compared_ = false;
    catching_up_.clear();
    return;
  }
  if (!catching_up_.empty()) return;
  caught_up_ = true;
  catching_up_.shrink_to_fit();
}

double Protocol::next_deadline() const {
  double deadline = std::min(next_ae_at_, next_purge_at_);
  if (!probe_) {
    deadline = std::min(deadline, next_probe_at_);
  } else {
    const bool indirect_due = !probe_->acked && !probe_->indirect_sent;
    deadline = std::min(deadline, indirect_due ? probe_->indirect_at : probe_->verdict_at);
  }
  for (const Relay& relay : relays_) deadline = std::min(deadline, relay.nack_at);
  for (const auto& [fp, s] : suspicions_) {
    const double timeout = suspicion_timeout(static_cast<unsigned>(s.confirmers.size() - 1),
                                             config_.suspicion_confirmations, config_.suspect_after_s, config_.dead_after_s);
    deadline = std::min(deadline, s.final_check ? s.final_deadline : s.started + timeout);
  }
  if (!news_.empty() || !member_news_.empty() || !home_news_.empty()) deadline = std::min(deadline, next_news_at_);
  // Pulls that did not fit one round are retried the next news interval, not in a spin.
  if (!wants_.empty()) deadline = std::min(deadline, std::max(wants_due_at_, last_pull_round_at_ + config_.news_interval_s));
  return deadline;
}

std::string Protocol::timers() const {
  std::string out = "probe=" + std::to_string(probe_ ? probe_->verdict_at : next_probe_at_) +
                    " ae=" + std::to_string(next_ae_at_) + " purge=" + std::to_string(next_purge_at_) +
                    " news=" + std::to_string(next_news_at_) + "(" + std::to_string(news_.size() + member_news_.size()) +
                    ") wants=" + std::to_string(wants_.size()) + "@" + std::to_string(wants_due_at_) +
                    " relays=" + std::to_string(relays_.size()) + " suspicions=" + std::to_string(suspicions_.size());
  for (const auto& [fp, s] : suspicions_)
    out += " [" + std::to_string(s.started) + "," + std::to_string(s.confirmers.size()) + "," +
           std::to_string(s.final_check) + "," + std::to_string(s.final_deadline) + "]";
  return out;
}

// ---------------------------------------------------------------- probing

void Protocol::probe_step(double now, std::vector<Outgoing>& out) {
  if (left_) return;
  if (probe_) {
    if (!probe_->acked && !probe_->indirect_sent && now >= probe_->indirect_at) send_indirect(now, out);
    if (now >= probe_->verdict_at) finish_probe(now, out);
  }
  if (!probe_ && now >= next_probe_at_) start_probe(now, out);
}

void Protocol::start_probe(double now, std::vector<Outgoing>& out) {
  const Member* target = nullptr;
  bool final_check = false;
  while (!target && !urgent_probes_.empty()) {
    const Member* m = store_.member(urgent_probes_.back());
    urgent_probes_.pop_back();
    if (m && m->state == PeerState::Suspect) target = m, final_check = true;
  }
  if (!target) target = next_probe_target();
  const double scale = health_.scale();
  next_probe_at_ = now + jittered(config_.probe_interval_s * scale);
  ++counters_.rounds;
  maybe_reconnect(now, out);
  if (!target) return;

  Probe probe;
  probe.target_fp = target->fp();
  probe.seq = static_cast<uint32_t>(nonzero(rng_() & 0xffffffffu));
  probe.indirect_at = now + config_.probe_timeout_s * scale;
  probe.verdict_at = now + config_.probe_interval_s * scale;
  probe.final_check = final_check;
  Message ping = message(MessageType::Ping);
  ping.seq = probe.seq;
  attach_members(ping);
  // Lifeguard's buddy system: a suspect learns it is suspected from the next probe, and refutes.
  if (target->state == PeerState::Suspect) ping.members.push_back(rumour_about(*target, PeerState::Suspect));
  out.push_back(to(*target, std::move(ping)));
  ++counters_.pings_sent;
  probe_ = probe;
}

void Protocol::send_indirect(double now, std::vector<Outgoing>& out) {
  (void)now;
  probe_->indirect_sent = true;
  const Member* target = store_.member(probe_->target_fp);
  if (!target) return;
  Message request = message(MessageType::PingReq);
  request.seq = probe_->seq;
  const Record& node = *target->node;
  request.target = ProbeTarget{std::string(node.key()), std::string(node.endpoint()), std::string(node.curve_key())};
  // A second direct PING too (memberlist sends a TCP ping here): with 5 % loss a direct
  // round trip fails 1 time in 10, and it is the cheapest second chance.
  Message again = message(MessageType::Ping);
  again.seq = probe_->seq;
  out.push_back(to(*target, std::move(again)));
  ++counters_.pings_sent;
  std::vector<uint64_t> asked;
  for (unsigned i = 0; i < config_.indirect_probes; ++i) {
    const Member* helper = random_live_member(probe_->target_fp, asked.empty() ? 0 : asked.back());
    if (!helper || std::find(asked.begin(), asked.end(), helper->fp()) != asked.end()) continue;
    asked.push_back(helper->fp());
    out.push_back(to(*helper, request));
    ++counters_.ping_reqs_sent;
    ++probe_->expected_nacks;
  }
}

void Protocol::finish_probe(double now, std::vector<Outgoing>& out) {
  (void)out;
  const Probe probe = *probe_;
  probe_.reset();
  Member* target = store_.member(probe.target_fp);
  if (probe.acked) {
    health_.better();
    if (target && probe.final_check && target->state == PeerState::Suspect) {
      // It answers, so it is up; it has been told it is suspected (buddy) and will refute.
      Suspicion& s = suspicions_[probe.target_fp];
      s.started = now;
      s.final_check = false;
    }
    return;
  }
  ++counters_.probes_failed;
  // Lifeguard: a failed probe whose helpers did not even NACK points at our own network or
  // CPU. One step per probe, not one per missing NACK: in a partition half the helpers are
  // across the cut, and a steeper climb would stall detection there.
  if (probe.expected_nacks == 0 || probe.nacked_by.size() < probe.expected_nacks) health_.worse();
  if (!target) return;
  if (target->state == PeerState::Alive) {
    suspect(*target, probe.nacked_by, now);
  } else if (target->state == PeerState::Suspect) {
    const auto it = suspicions_.find(probe.target_fp);
    if (it != suspicions_.end() && it->second.final_check) {
      declare_dead(*target, now);
      return;
    }
    for (const uint64_t failed : probe.nacked_by)
      if (confirm(probe.target_fp, failed)) queue_member(MemberNews{target->fp(), target->generation(), target->version(), PeerState::Suspect, failed});
    if (confirm(probe.target_fp, store_.self_fp()))
      queue_member(rumour_about(*target, PeerState::Suspect));  // our own, independent suspicion
  }
}

void Protocol::relay_step(double now, std::vector<Outgoing>& out) {
  std::erase_if(relays_, [&](const Relay& relay) {
    if (now < relay.nack_at) return false;
    Message nack = message(MessageType::Nack);
    nack.seq = relay.their_seq;
    out.push_back(to(Contact{relay.endpoint, relay.public_key}, std::move(nack)));
    ++counters_.nacks_sent;
    return true;
  });
}

void Protocol::suspicion_step(double now, std::vector<Outgoing>& out) {
  std::vector<uint64_t> bury;
  for (auto& [fp, s] : suspicions_) {
    const Member* m = store_.member(fp);
    if (!m || m->state != PeerState::Suspect) continue;
    if (s.final_check) {
      if (now >= s.final_deadline) bury.push_back(fp);
      continue;
    }
    const unsigned confirmations = static_cast<unsigned>(s.confirmers.size() - 1);
    const double timeout =
        suspicion_timeout(confirmations, config_.suspicion_confirmations, config_.suspect_after_s, config_.dead_after_s);
    if (now < s.started + timeout) continue;
    // Last checks before burying it. Its refutation may simply not have reached us (a few
    // members miss any rumour): ask two others for its node record, which arrives within a
    // round trip if it is newer, and clears the suspicion like any refutation.
    s.final_check = true;
    consult(*m, out);
    if (confirmations >= config_.suspicion_confirmations) {
      // Several members failed to reach it: a crash. Only the consultation is waited for.
      s.final_deadline = now + config_.probe_timeout_s * health_.scale();
    } else {
      // Nobody confirmed it: look ourselves too. A probe starts when the current one ends
      // (<= 1 interval) and takes 1 interval; the deadline matters only if none can run.
      s.final_deadline = now + 3 * config_.probe_interval_s * health_.scale();
      urgent_probes_.push_back(fp);
      if (!probe_) next_probe_at_ = std::min(next_probe_at_, now);
    }
  }
  for (const uint64_t fp : bury)
    if (Member* m = store_.member(fp); m && m->state == PeerState::Suspect) declare_dead(*m, now);
  std::erase_if(suspicions_, [&](const auto& entry) {
    const Member* m = store_.member(entry.first);
    return !m || m->state != PeerState::Suspect;
  });
}

void Protocol::consult(const Member& member, std::vector<Outgoing>& out) {
  Message pull = message(MessageType::Pull);
  pull.pull.push_back(member.node->key_hash);
  const Member* first = random_live_member(member.fp());
  const Member* second = random_live_member(member.fp(), first ? first->fp() : 0);
  for (const Member* other : {first, second})
    if (other) {
      out.push_back(to(*other, pull));
      ++counters_.pulls_sent;
    }
}

void Protocol::suspect(Member& member, const std::vector<uint64_t>& also_failed, double now) {
  suspicions_[member.fp()] = Suspicion{now, {store_.self_fp()}, false, 0};
  store_.set_state(member, PeerState::Suspect, now);
  ++counters_.suspicions;
  queue_member(rumour_about(member, PeerState::Suspect));
  // Helpers that NACKed our PING_REQ could not reach it either: independent observations,
  // which Lifeguard counts as confirmations (a crash is then confirmed at once).
  for (const uint64_t failed : also_failed)
    if (confirm(member.fp(), failed))
      queue_member(MemberNews{member.fp(), member.generation(), member.version(), PeerState::Suspect, failed});
}

bool Protocol::confirm(uint64_t fp, uint64_t from_fp) {
  const auto it = suspicions_.find(fp);
  if (it == suspicions_.end()) return false;
  auto& confirmers = it->second.confirmers;
  if (confirmers.size() > config_.suspicion_confirmations) return false;  // enough already
  if (std::find(confirmers.begin(), confirmers.end(), from_fp) != confirmers.end()) return false;
  confirmers.push_back(from_fp);
  return true;
}

void Protocol::declare_dead(Member& member, double now) {
  ++counters_.deaths_declared;  // before the state change, so its observers see who declared it
  store_.set_state(member, PeerState::Dead, now);
  queue_member(rumour_about(member, PeerState::Dead));
}

void Protocol::check_incarnation(const Member& member, uint64_t generation, uint64_t version, uint64_t source_fp,
                                 double now) {
  if (generation > member.generation() || (generation == member.generation() && version > member.version()))
    want(member.node->key_hash, 0, source_fp, now);
}

void Protocol::maybe_reconnect(double now, std::vector<Outgoing>& out) {
  // Partitions heal only if somebody talks across the cut, but members over there are
  // Dead (never probed) or purged. About once per probe interval cluster-wide (each of
  // the live + 1 members we know draws), anti-entropy with a Dead member or a seed.
  (void)now;
  if (rng_.below(live_peers() + 1) != 0) return;
  const size_t dead = store_.count(PeerState::Dead);
  if (dead + seeds_.size() == 0) return;
  const size_t pick = rng_.below(dead + seeds_.size());
  if (pick >= dead) {
    const Seed& seed = seeds_[pick - dead];
    out.push_back(to(Contact{seed.endpoint, seed.public_key}, anti_entropy_syn()));
  } else {
    size_t index = 0;
    const Member* chosen = nullptr;
    store_.members().for_each([&](const Member& m) {
      if (m.state == PeerState::Dead && index++ == pick) chosen = &m;
    });
    if (!chosen || chosen->node->endpoint().empty()) return;
    out.push_back(to(*chosen, anti_entropy_syn()));
  }
  ++counters_.anti_entropy_sent;
}

// ---------------------------------------------------------------- rumours

void Protocol::queue_news(const Record& record) {
  const unsigned limit = record.is_node() ? 2 * transmit_limit(true) : transmit_limit(false);
  if (limit == 0) return;
  cap_queue(news_);
  news_.push_back({{record.key_hash, record.stamp_hash}, static_cast<uint8_t>(std::min(255u, limit))});
}

void Protocol::queue_member(const MemberNews& item) {
  cap_queue(member_news_);
  // A death goes out twice as often: whoever misses it waits for its own timer.
  const unsigned limit = (item.state == PeerState::Dead ? 2 : 1) * transmit_limit(true);
  member_news_.push_back({item, static_cast<uint8_t>(std::min(255u, limit))});
}

void Protocol::attach_members(Message& message) {
  const size_t budget = (config_.max_message_bytes / 4) / kMemberRumourBytes;
  for (QueuedMember& queued : member_news_) {
    if (message.members.size() >= budget) break;
    message.members.push_back(queued.item);
    --queued.left;
  }
  std::erase_if(member_news_, [](const QueuedMember& q) { return q.left == 0; });
}

void Protocol::send_news(double now, std::vector<Outgoing>& out) {
  // Rumours are not re-checked against what we hold: one superseded meanwhile (rare within
  // its second of life) makes a receiver pull the newer version, which is what it wants.
  next_news_at_ = now + jittered(config_.news_interval_s);
  std::vector<Contact> targets;
  std::vector<uint64_t> chosen;
  for (unsigned i = 0; i < config_.fanout; ++i) {
    const Member* m = random_live_member(chosen.empty() ? 0 : chosen.back(), chosen.size() > 1 ? chosen[chosen.size() - 2] : 0);
    if (!m || std::find(chosen.begin(), chosen.end(), m->fp()) != chosen.end()) continue;
    chosen.push_back(m->fp());
    targets.push_back(contact_in(*m->node));
  }
  // Alone (joining, or cut off): tell the seeds.
  for (size_t i = 0; targets.empty() && i < seeds_.size() && i < config_.fanout; ++i)
    targets.push_back(Contact{seeds_[i].endpoint, seeds_[i].public_key});
  const size_t budget = (config_.max_message_bytes - kMessageSlackBytes) / 2 / kNewsItemBytes;
  for (const Contact& target : targets) {
    Message news = message(MessageType::News);
    for (QueuedNews& queued : news_) {
      if (queued.left == 0) continue;
      if (news.news.size() >= budget) break;
      news.news.push_back(queued.item);
      --queued.left;
    }
    attach_members(news);
    if (news.news.empty() && news.members.empty()) break;
    out.push_back(to(target, std::move(news)));
    ++counters_.news_sent;
  }
  std::erase_if(news_, [](const QueuedNews& q) { return q.left == 0; });
  send_home_news(out);
}

// ---------------------------------------------------------------- function homes

std::vector<uint64_t> Protocol::live_members() const {
  std::vector<uint64_t> live;
  live.reserve(store_.members().size());
  store_.members().for_each([&](const Member& m) {
    if (is_live(m.state)) live.push_back(m.fp());
  });
  return live;
}

std::vector<uint64_t> Protocol::homes_among(uint64_t key_hash, const std::vector<uint64_t>& members) const {
  TopHomes top(key_hash, config_.function_homes);
  for (const uint64_t fp : members) top.offer(fp);
  return top.members();
}

std::vector<uint64_t> Protocol::pull_sources(uint64_t key_hash) const {
  TopHomes top(key_hash, config_.function_homes + 1);
  store_.members().for_each([&](const Member& m) {
    if (is_live(m.state) && m.fp() != store_.self_fp()) top.offer(m.fp());
  });
  return top.members();
}

bool Protocol::ranks_among_homes(uint64_t key_hash, const std::vector<uint64_t>& sources) const {
  const size_t r = config_.function_homes;
  if (sources.size() < r) return true;
  const uint64_t self = store_.self_fp();
  // TopHomes' order: by score, ties by fingerprint.
  return std::pair{home_score(key_hash, self), self} > std::pair{home_score(key_hash, sources[r - 1]), sources[r - 1]};
}

std::vector<uint64_t> Protocol::homes_of(uint64_t key_hash) const {
  return homed() ? homes_among(key_hash, live_members()) : std::vector<uint64_t>{};
}

bool Protocol::is_home(uint64_t key_hash) const {
  const std::vector<uint64_t> homes = homes_of(key_hash);
  return std::find(homes.begin(), homes.end(), store_.self_fp()) != homes.end();
}

bool Protocol::keeps_function(const Record& record, double now) const {
  if (!homed() || record.author_fp == store_.self_fp()) return true;
  if (const auto it = interest_.find(record.key_hash); it != interest_.end() && it->second.until >= now) return true;
  return is_home(record.key_hash);
}

void Protocol::announce_to_homes(const Record& record, const std::vector<uint64_t>& homes, uint8_t transmissions) {
  for (const uint64_t home : homes) {
    if (home == store_.self_fp()) continue;
    cap_queue(home_news_);
    home_news_.push_back({home, {record.key_hash, record.stamp_hash}, transmissions});
  }
}

void Protocol::send_home_news(std::vector<Outgoing>& out) {
  if (home_news_.empty()) return;
  const size_t budget = (config_.max_message_bytes - kMessageSlackBytes) / 2 / kNewsItemBytes;
  std::unordered_map<uint64_t, Message> by_home;
  for (HomeNews& queued : home_news_) {
    auto [it, fresh] = by_home.try_emplace(queued.target_fp);
    if (fresh) it->second = message(MessageType::News);
    if (it->second.news.size() >= budget) continue;
    it->second.news.push_back(queued.item);
    --queued.left;
  }
  std::erase_if(home_news_, [](const HomeNews& q) { return q.left == 0; });
  for (auto& [home, news] : by_home) {
    const std::optional<Contact> contact = contact_of(home);
    if (!contact || contact->endpoint.empty()) continue;
    out.push_back(to(*contact, std::move(news)));
    ++counters_.home_news_sent;
  }
}

bool Protocol::want_function(const std::string& function, double now) {
  if (!homed() || left_) return false;
  const uint64_t key = function_key_hash(function);
  const Record* held = store_.find(key);
  auto [it, fresh] = interest_.try_emplace(key, Interest{now, held ? now : kNever});
  it->second.until = now + config_.interest_s;
  if (fresh && interest_.size() > kMaxInterests) {
    std::erase_if(interest_, [&](const auto& entry) { return entry.second.until < now; });
    if (interest_.size() > kMaxInterests) {  // all current: the one asked about longest ago goes
      auto oldest = std::min_element(interest_.begin(), interest_.end(), [](const auto& a, const auto& b) {
        return a.second.until < b.second.until;
      });
      interest_.erase(oldest);
      it = interest_.find(key);
      if (it == interest_.end()) return false;
    }
  }
  if (now - it->second.pulled_at < (held ? config_.interest_refresh_s : kMissRetryS)) return false;
  const std::vector<uint64_t> sources = pull_sources(key);
  if (sources.empty()) return false;
  // Either of the two best other homes: the best one alone would answer every cold ask.
  // A sole home (r = 1) that lacks the record has just become its home, and the writer
  // tells it only at its next anti-entropy round: it asks the member next in line, the
  // home it displaced, which still holds it.
  const size_t other_homes = config_.function_homes - (ranks_among_homes(key, sources) ? 1 : 0);
  const size_t choices = std::clamp<size_t>(other_homes, 1, 2);
  it->second.pulled_at = now;
  want(key, 0, sources[rng_.below(std::min(choices, sources.size()))], now);
  last_pull_round_at_ = kNever;  // someone may be waiting for it: the next tick pulls, not the next news interval
  ++counters_.interest_pulls;
  return true;
}

void Protocol::tend_homes(double now) {
  const bool everyone = ++tend_rounds_ % kFullAnnounceRounds == 0;
  std::erase_if(interest_, [&](const auto& entry) { return entry.second.until < now; });
  const std::vector<uint64_t> live = live_members();
  const uint64_t self = store_.self_fp();
  std::vector<uint64_t> forget;
  store_.for_each_function([&](const Record& r) {
    std::vector<uint64_t> homes = homes_among(r.key_hash, live);
    if (r.author_fp == self) {
      std::vector<uint64_t>& told = announced_[r.key_hash];
      std::vector<uint64_t> tell;
      for (const uint64_t home : homes)
        if (everyone || std::find(told.begin(), told.end(), home) == told.end()) tell.push_back(home);
      announce_to_homes(r, tell, everyone ? 1 : kHomeNewsTransmissions);
      told = std::move(homes);
      return;
    }
    const bool interested = interest_.contains(r.key_hash);
    if (!interested && std::find(homes.begin(), homes.end(), self) == homes.end()) forget.push_back(r.key_hash);
  });
  for (const uint64_t key : forget)
    if (store_.erase_function(key)) ++counters_.functions_forgotten;
  std::erase_if(announced_, [&](const auto& entry) {
    const Record* r = store_.find(entry.first);
    return !r || r->author_fp != self;
  });
}

void Protocol::repull_if_missed(const NewsItem& item, uint64_t from_fp, double now) {
  if (wants_.contains(item.key_hash)) return;
  const Record* held = store_.find(item.key_hash);
  const bool missed = held ? !held->is_node() && held->stamp_hash != item.stamp_hash : is_home(item.key_hash);
  if (missed) want(item.key_hash, item.stamp_hash, from_fp, now);
}

void Protocol::keep_or_forget(const Record& record, uint64_t source_fp, Verdict verdict, double now) {
  if (verdict == Verdict::Applied && !keeps_function(record, now)) {
    if (store_.erase_function(record.key_hash)) ++counters_.functions_forgotten;
    return;
  }
  // Its writer announced a version that a newer one (another host running the same
  // function) has replaced: tell the writer, so it pulls the newer one and stops
  // announcing its own.
  if (verdict == Verdict::Stale && record.author_fp == source_fp) {
    if (const Record* ours = store_.find(record.key_hash); ours && ours->stamp_hash != record.stamp_hash)
      announce_to_homes(*ours, {source_fp}, 1);
  }
}

// ---------------------------------------------------------------- pulls

void Protocol::want(uint64_t key_hash, uint32_t stamp_hash, uint64_t source_fp, double not_before) {
  auto [it, fresh] = wants_.try_emplace(key_hash, Want{stamp_hash, source_fp, not_before, kNever, 0});
  Want& w = it->second;
  if (fresh) {
    if (wants_.size() > config_.max_functions + config_.max_peers) {
      wants_.erase(it);
      return;
    }
  } else {
    if (w.stamp_hash != stamp_hash && stamp_hash != 0) {
      w.stamp_hash = stamp_hash;
      w.source_fp = source_fp;
      w.attempts = 0;
      w.requested_at = kNever;  // a newer version: ask for it now
    }
    if (not_before < w.not_before) w.not_before = not_before;  // news makes a settling difference urgent
    // The latest announcer surely has it: a retry (after a lost PULL or PUSH) goes there.
    if (not_before <= w.not_before) w.source_fp = source_fp;
  }
  if (w.requested_at == kNever) fresh_wants_.push_back(key_hash);
  wants_due_at_ = std::min(wants_due_at_, w.not_before);
}

void Protocol::pull_fresh_wants(uint64_t source_fp, double now, std::vector<Outgoing>& out) {
  if (fresh_wants_.empty()) return;
  Message pull = message(MessageType::Pull);
  const size_t max_keys = keys_per_pull();
  for (const uint64_t key : fresh_wants_) {
    const auto it = wants_.find(key);
    if (it == wants_.end() || it->second.source_fp != source_fp || it->second.requested_at != kNever ||
        it->second.not_before > now)
      continue;
    // The rest stay unasked, not spent: the next pull round asks for them (a joiner
    // lacking more records than a push carries would otherwise give some up).
    if (pull.pull.size() >= max_keys) break;
    it->second.requested_at = now;
    ++it->second.attempts;
    pull.pull.push_back(key);
  }
  fresh_wants_.clear();
  const std::optional<Contact> contact = contact_of(source_fp);
  if (pull.pull.empty() || !contact || contact->endpoint.empty()) return;
  out.push_back(to(*contact, std::move(pull)));
  ++counters_.pulls_sent;
}

void Protocol::settle_want(uint64_t key_hash) { wants_.erase(key_hash); }

size_t Protocol::keys_per_pull() const {
  return std::max<size_t>(16, config_.max_message_bytes / kAverageRecordBytes);
}

void Protocol::send_pulls(double now, std::vector<Outgoing>& out) {
  wants_due_at_ = kInfinity;
  if (wants_.empty()) return;
  const size_t max_keys = keys_per_pull();
  std::unordered_map<uint64_t, Message> pulls;
  for (auto it = wants_.begin(); it != wants_.end();) {
    Want& w = it->second;
    if (now < w.not_before || now - w.requested_at < config_.pull_retry_s) {
      wants_due_at_ = std::min(wants_due_at_, std::max(w.not_before, w.requested_at + config_.pull_retry_s));
      ++it;
      continue;
    }
    const Record* held = store_.find(it->first);
    const bool satisfied = held && (w.stamp_hash == 0 ? false : held->stamp_hash == w.stamp_hash);
    if (satisfied || w.attempts >= kMaxPullAttempts) {
      counters_.pulls_given_up += !satisfied;
      it = wants_.erase(it);  // arrived meanwhile, or gone: anti-entropy will find it again
      continue;
    }
    auto [entry, fresh] = pulls.try_emplace(w.source_fp);
    if (fresh) entry->second = message(MessageType::Pull);
    if (entry->second.pull.size() < max_keys) {
      entry->second.pull.push_back(it->first);
      w.requested_at = now;
      ++w.attempts;
    }
    wants_due_at_ = std::min(wants_due_at_, w.requested_at + config_.pull_retry_s);
    ++it;
  }
  for (auto& [source, pull] : pulls) {
    const std::optional<Contact> contact = contact_of(source);
    if (!contact || contact->endpoint.empty()) continue;
    out.push_back(to(*contact, std::move(pull)));
    ++counters_.pulls_sent;
  }
}

void Protocol::apply_records(const std::vector<RecordRef>& records, uint64_t source_fp, double now,
                             std::vector<Outgoing>& out) {
  for (const RecordRef& record : records) {
    const Verdict verdict = store_.apply(record, now);
    if (verdict == Verdict::Duplicate && record->is_node() && record->key() == self_.node_id)
      notice_duplicate(contact_in(*record), now, out);
    if (verdict == Verdict::Buried && record->is_node()) {
      // Someone still holds a member we purged: if it is alive (a healed partition), it must
      // hear that it was declared dead, and re-sign its record above our tombstone.
      const Tombstone* stone = store_.tombstone(record->author_fp);
      if (stone && stone->generation == record->generation)
        notify(record->author_fp, contact_in(*record),
               MemberNews{record->author_fp, stone->generation, stone->version, PeerState::Dead, store_.self_fp()}, now,
               out);
    }
    if (verdict == Verdict::Applied && (record->is_node() || !homed())) queue_news(*record);
    if (!record->is_node() && homed()) keep_or_forget(*record, source_fp, verdict, now);
    if (verdict == Verdict::Pending) want(nonzero(record->author_fp), 0, source_fp, now);  // its author's record
    // A want is answered by the very version it asked for, or, if it asked for anything
    // newer (stamp 0), by whatever the source had; and by its source with whatever that
    // holds now (the version it named has been superseded there: asking again would bring
    // the same, three times, and a joiner would start catching up over; a source that
    // answers with an older one only defers the record to the next comparison). Another
    // version from elsewhere (a push we did not ask for) leaves it standing.
    if (const auto it = wants_.find(record->key_hash); it != wants_.end() && verdict != Verdict::Pending) {
      const Want& w = it->second;
      if (w.stamp_hash == record->stamp_hash || w.stamp_hash == 0 || w.source_fp == source_fp) wants_.erase(it);
    }
    for (const RecordRef& released : store_.take_released()) {
      if (!homed()) {
        queue_news(*released);
      } else {
        keep_or_forget(*released, 0, Verdict::Applied, now);
      }
    }
  }
}

// ---------------------------------------------------------------- anti-entropy

std::vector<MemberNews> Protocol::non_alive_rumours() const {
  std::vector<MemberNews> rumours;
  const size_t budget = (config_.max_message_bytes / 4) / kMemberRumourBytes;
  store_.members().for_each([&](const Member& m) {
    if (rumours.size() < budget && (m.state == PeerState::Suspect || m.state == PeerState::Dead))
      rumours.push_back(rumour_about(m, m.state));
  });
  return rumours;
}

Message Protocol::anti_entropy_syn() const {
  Message syn = message(MessageType::AeSyn);
  const size_t keys = store_.members().size() + store_.function_count();
  // 8-16 keys a bucket: a difference costs its bucket's entries (12 bytes each), the digest
  // 4 bytes a bucket. A power of two, which the store keeps hashed (no scan).
  uint32_t buckets = 16;
  while (buckets < RecordStore::kMaxBuckets && buckets * 16 < keys) buckets *= 2;
  syn.ae_bucket_count = buckets;
  syn.ae_hashes = store_.bucket_hashes(syn.ae_bucket_count);
  syn.members = non_alive_rumours();
  return syn;
}

void Protocol::start_anti_entropy(double now, std::vector<Outgoing>& out) {
  const bool joining = live_peers() < config_.fanout;
  // While we know too few members (joining, or cut off), compare every probe interval.
  next_ae_at_ = now + jittered(joining ? config_.probe_interval_s : config_.anti_entropy_interval_s);
  if (const Member* partner = random_live_member()) {
    out.push_back(to(*partner, anti_entropy_syn()));
  } else if (!seeds_.empty()) {
    const Seed& seed = seeds_[rng_.below(seeds_.size())];
    out.push_back(to(Contact{seed.endpoint, seed.public_key}, anti_entropy_syn()));
  } else {
    return;
  }
  ++counters_.anti_entropy_sent;
}

void Protocol::on_ae_syn(const Message& m, uint64_t from_fp, std::vector<Outgoing>& out) {
  (void)from_fp;
  const uint32_t count = m.ae_bucket_count;
  if (count == 0 || m.ae_hashes.size() != count) return;
  const std::vector<uint32_t> mine = store_.bucket_hashes(count);
  std::vector<bool> differs(count, false);
  for (uint32_t i = 0; i < count; ++i) differs[i] = mine[i] != m.ae_hashes[i];
  // One scan for the entries of every differing bucket, then whole buckets, as many as
  // fit: the initiator treats a listed bucket as complete.
  std::vector<std::pair<uint32_t, NewsItem>> entries;
  std::vector<size_t> per_bucket(count, 0);
  store_.for_each_in(differs, [&](const Record& r) {
    const uint32_t bucket = RecordStore::bucket_of(r.key_hash, count);
    entries.push_back({bucket, {r.key_hash, r.stamp_hash}});
    ++per_bucket[bucket];
  });
  Message ack = message(MessageType::AeAck);
  ack.ae_bucket_count = count;
  ack.members = non_alive_rumours();
  const size_t budget = (config_.max_message_bytes - kMessageSlackBytes) / 2 / kNewsItemBytes;
  size_t listed = 0;
  for (uint32_t i = 0; i < count; ++i) {
    if (!differs[i]) continue;
    if (listed + per_bucket[i] > budget) {
      differs[i] = false;
      continue;
    }
    listed += per_bucket[i];
    ack.ae_buckets.push_back(i);
  }
  // Answered even when nothing differs: the initiator learns it is caught up (caught_up()).
  ack.ae_entries.reserve(listed);
  for (const auto& [bucket, item] : entries)
    if (differs[bucket]) ack.ae_entries.push_back(item);
  out.push_back(Outgoing{m.from.endpoint, m.from.public_key, std::move(ack)});
  ++counters_.anti_entropy_sent;
}

void Protocol::on_ae_ack(const Message& m, uint64_t from_fp, double now, std::vector<Outgoing>& out) {
  compare(m, from_fp, now, out);
  if (compared_) return;
  // The first comparison answered: what it showed we lack is what catching up waits for
  // (check_caught_up). Every differing bucket is listed up to ~43,000 entries; beyond
  // that the rest come with the next comparisons, after this agent counts as caught up.
  compared_ = true;
  catching_up_.reserve(wants_.size());
  for (const auto& [key, want] : wants_) catching_up_.push_back(key);
}

void Protocol::compare(const Message& m, uint64_t from_fp, double now, std::vector<Outgoing>& out) {
  const size_t live = live_peers();
  // Differences found by anti-entropy are usually rumours still in flight: give the news a
  // moment to bring them before pulling (not while joining: then nothing is in flight to us).
  const double settle_until = now + (live < config_.fanout ? 0 : config_.anti_entropy_settle_s);
  if (m.ae_buckets.empty()) {
    // Keys the responder found we lack.
    for (const NewsItem& entry : m.ae_entries) {
      const Record* held = store_.find(entry.key_hash);
      if (!held || held->stamp_hash != entry.stamp_hash) want(entry.key_hash, entry.stamp_hash, from_fp, settle_until);
    }
    return;
  }
  std::vector<bool> listed(m.ae_bucket_count, false);
  for (const uint32_t bucket : m.ae_buckets) listed[bucket] = true;
  std::unordered_map<uint64_t, uint32_t> theirs;
  theirs.reserve(m.ae_entries.size());
  for (const NewsItem& entry : m.ae_entries) theirs.emplace(entry.key_hash, entry.stamp_hash);
  Message have = message(MessageType::AeAck);  // what they lack, so they can pull it
  const size_t budget = (config_.max_message_bytes - kMessageSlackBytes) / 2 / kNewsItemBytes;
  store_.for_each_in(listed, [&](const Record& r) {
    const auto it = theirs.find(r.key_hash);
    if (it == theirs.end()) {
      if (have.ae_entries.size() < budget) have.ae_entries.push_back({r.key_hash, r.stamp_hash});
      return;
    }
    if (it->second != r.stamp_hash) want(r.key_hash, it->second, from_fp, settle_until);
    theirs.erase(it);
  });
  for (const auto& [key, stamp] : theirs) want(key, stamp, from_fp, settle_until);
  if (have.ae_entries.empty()) return;
  have.ae_bucket_count = m.ae_bucket_count;
  out.push_back(Outgoing{m.from.endpoint, m.from.public_key, std::move(have)});
  ++counters_.anti_entropy_sent;
}

// ---------------------------------------------------------------- handlers

std::vector<Outgoing> Protocol::handle(const Message& m, const std::string& authenticated_key, double now) {
  std::vector<Outgoing> out;
  const Sender& from = m.from;
  if (from.node_id.empty() || from.node_id.size() > config_.max_name_bytes) {
    ++counters_.messages_ignored;
    return out;
  }
  if (from.node_id == self_.node_id) {
    handle_duplicate(from, now, out);
    return out;
  }
  const uint64_t from_fp = fingerprint(from.node_id);
  if (const Member* known = store_.member(from_fp); known && authority_->enabled() && !authenticated_key.empty() &&
                                                    is_live(known->state) && known->node->curve_key() != authenticated_key) {
    ++counters_.refused_identity;  // a live member's id, spoken with another key
    return out;
  }
  ++counters_.messages_handled;
  greet(from, from_fp, now, out);
  const bool relayed = m.type == MessageType::AeSyn || m.type == MessageType::AeAck;
  handle_members(m.members, from_fp, now, out, relayed);
  switch (m.type) {
    case MessageType::Ping: on_ping(m, now, out); break;
    case MessageType::PingReq: on_ping_req(m, now, out); break;
    case MessageType::Ack: on_ack(m, from_fp, now, out); break;
    case MessageType::Nack: on_nack(m, from_fp); break;
    case MessageType::News: on_news(m, from_fp, now); break;
    case MessageType::Pull: on_pull(m, from_fp, out); break;
    case MessageType::Push:
    case MessageType::Leave: apply_records(m.records, from_fp, now, out); break;
    case MessageType::AeSyn: on_ae_syn(m, from_fp, out); break;
    case MessageType::AeAck: on_ae_ack(m, from_fp, now, out); break;
  }
  pull_fresh_wants(from_fp, now, out);
  check_caught_up();
  return out;
}

void Protocol::handle_duplicate(const Sender& from, double now, std::vector<Outgoing>& out) {
  // Nobody else may speak as us: another host uses our node id (a cloned host name).
  ++counters_.duplicate_node_id;
  notice_duplicate(Contact{from.endpoint, from.public_key}, now, out);
}

void Protocol::notice_duplicate(const Contact& other, double now, std::vector<Outgoing>& out) {
  // Tell the other host once a probe interval: it may never hear from us otherwise, and
  // a message in our (= its) name is how it notices.
  last_duplicate_endpoint_ = other.endpoint;
  if (other.endpoint.empty() || other.endpoint == self_.endpoint || now - duplicate_noticed_at_ < config_.probe_interval_s)
    return;
  duplicate_noticed_at_ = now;
  out.push_back(to(other, message(MessageType::News)));
}

void Protocol::notify(uint64_t member_fp, const Contact& contact, const MemberNews& rumour, double now,
                      std::vector<Outgoing>& out) {
  if (contact.endpoint.empty()) return;
  if (noticed_at_.size() > kMaxNoticed) noticed_at_.clear();
  double& at = noticed_at_.try_emplace(member_fp, kNever).first->second;
  if (now - at < config_.probe_interval_s) return;  // at most once a probe interval per member
  at = now;
  Message notice = message(MessageType::News);
  notice.members.push_back(rumour);
  out.push_back(to(contact, std::move(notice)));
}

void Protocol::greet(const Sender& from, uint64_t from_fp, double now, std::vector<Outgoing>& out) {
  if (Member* m = store_.member(from_fp)) {
    store_.heard(*m, now);
    if (from.generation > m->generation()) {
      want(m->node->key_hash, 0, from_fp, now);
    } else if ((m->state == PeerState::Suspect || m->state == PeerState::Dead) && from.generation == m->generation()) {
      // It talks to us, so it is up, but it may not know what we think: tell it, it refutes.
      notify(from_fp, contact_in(*m->node), rumour_about(*m, m->state), now, out);
    }
    return;
  }
  if (from.endpoint.empty()) return;
  // A stranger (joining, back after a purge, or across a healed partition): remember how
  // to reach it, so what it announces can be pulled from it.
  const Contact contact{from.endpoint, from.public_key};
  if (strangers_.size() >= kMaxStrangers) strangers_.clear();
  strangers_[from_fp] = contact;
  if (const Tombstone* stone = store_.tombstone(from_fp); stone && from.generation <= stone->generation) {
    // We purged it, yet it is alive: tell it it was declared dead, so it re-signs its record above the tombstone.
    if (from.generation == stone->generation)
      notify(from_fp, contact, MemberNews{from_fp, stone->generation, stone->version, PeerState::Dead, store_.self_fp()},
             now, out);
    return;
  }
  want(node_key_hash(from.node_id), 0, from_fp, now);  // ask it for its node record
}

void Protocol::handle_members(const std::vector<MemberNews>& items, uint64_t source_fp, double now,
                              std::vector<Outgoing>& out, bool relayed) {
  for (const MemberNews& item : items) {
    if (item.origin_fp == store_.self_fp()) {
      refute(item, now);
      continue;
    }
    Member* m = store_.member(item.origin_fp);
    if (!m) continue;
    const auto claimed = std::make_pair(item.generation, item.version);
    const auto held = std::make_pair(m->generation(), m->version());
    if (claimed > held) {
      want(m->node->key_hash, 0, source_fp, now);  // judge it once we know that incarnation
      continue;
    }
    if (claimed < held) {
      // Stale: the member has refuted since. If the sender buries it, correct the sender.
      if (item.state == PeerState::Dead)
        if (const auto contact = contact_of(source_fp)) {
          Message push = message(MessageType::Push);
          push.records.push_back(m->node);
          out.push_back(to(*contact, std::move(push)));
          ++counters_.pushes_sent;
        }
      continue;
    }
    if (relayed) {
      // After a partition heals, each side's list says the other side is dead. Applying it
      // would bury live members for a moment; telling them lets each refute for itself.
      if (m->state == PeerState::Alive)
        notify(m->fp(), contact_in(*m->node), item, now, out);
      continue;
    }
    if (item.state == PeerState::Dead) {
      if (is_live(m->state)) {
        store_.set_state(*m, PeerState::Dead, now);
        queue_member(item);
      }
    } else if (m->state == PeerState::Alive) {
      suspicions_[m->fp()] = Suspicion{now, {item.from_fp}, false, 0};
      store_.set_state(*m, PeerState::Suspect, now);
      queue_member(item);
    } else if (m->state == PeerState::Suspect && confirm(m->fp(), item.from_fp)) {
      queue_member(item);  // a new, independent confirmation: others count it too
    }
  }
}

void Protocol::refute(const MemberNews& item, double now) {
  if (left_) return;
  const Member& me = store_.self();
  if (item.generation != me.generation() || item.version < me.version()) return;  // refuted already, or not us
  const RecordRef record = store_.rewrite_self(item.version, now);
  queue_news(*record);
  ++counters_.refutations;
  health_.worse();  // Lifeguard: being suspected hints that we are the slow one
}

void Protocol::on_ping(const Message& m, double now, std::vector<Outgoing>& out) {
  (void)now;
  Message ack = message(MessageType::Ack);
  ack.seq = m.seq;
  ack.incarnation_generation = store_.self().generation();
  ack.incarnation_version = store_.self().version();
  attach_members(ack);
  out.push_back(Outgoing{m.from.endpoint, m.from.public_key, std::move(ack)});
  ++counters_.acks_sent;
}

void Protocol::on_ping_req(const Message& m, double now, std::vector<Outgoing>& out) {
  if (relays_.size() >= kMaxRelays || m.target.endpoint.empty() || m.from.endpoint.empty()) return;
  if (m.target.node_id == self_.node_id) {  // asked to probe ourselves: answer directly
    on_ping(m, now, out);
    return;
  }
  Relay relay{static_cast<uint32_t>(nonzero(rng_() & 0xffffffffu)), m.seq, m.from.endpoint, m.from.public_key,
              now + kNackFraction * config_.probe_timeout_s * health_.scale()};
  Message ping = message(MessageType::Ping);
  ping.seq = relay.our_seq;
  out.push_back(Outgoing{m.target.endpoint, m.target.public_key, std::move(ping)});
  ++counters_.pings_sent;
  relays_.push_back(std::move(relay));
}

void Protocol::on_ack(const Message& m, uint64_t from_fp, double now, std::vector<Outgoing>& out) {
  if (probe_ && m.seq == probe_->seq) {
    if (probe_->acked) return;
    probe_->acked = true;
    if (Member* target = store_.member(probe_->target_fp)) {
      store_.heard(*target, now);
      check_incarnation(*target, m.incarnation_generation, m.incarnation_version, from_fp, now);
    }
    return;
  }
  const auto relay = std::find_if(relays_.begin(), relays_.end(), [&](const Relay& r) { return r.our_seq == m.seq; });
  if (relay == relays_.end()) return;
  Message forwarded = message(MessageType::Ack);
  forwarded.seq = relay->their_seq;
  forwarded.incarnation_generation = m.incarnation_generation;
  forwarded.incarnation_version = m.incarnation_version;
  out.push_back(to(Contact{relay->endpoint, relay->public_key}, std::move(forwarded)));
  ++counters_.acks_sent;
  relays_.erase(relay);
}

void Protocol::on_nack(const Message& m, uint64_t from_fp) {
  if (!probe_ || m.seq != probe_->seq) return;
  auto& nacked = probe_->nacked_by;
  if (nacked.size() < probe_->expected_nacks && std::find(nacked.begin(), nacked.end(), from_fp) == nacked.end())
    nacked.push_back(from_fp);
}

void Protocol::on_news(const Message& m, uint64_t from_fp, double now) {
  for (const NewsItem& item : m.news) {
    const uint64_t id = nonzero(item.key_hash ^ (uint64_t{item.stamp_hash} * 0x9e3779b97f4a7c15ull));
    uint64_t& seen = seen_news_[id % kSeenNewsSlots];
    if (seen == id) {  // held, or wanted already
      if (homed()) repull_if_missed(item, from_fp, now);
      continue;
    }
    seen = id;
    const Record* held = store_.find(item.key_hash);
    if (!held || held->stamp_hash != item.stamp_hash) want(item.key_hash, item.stamp_hash, from_fp, now);
  }
}

void Protocol::on_pull(const Message& m, uint64_t from_fp, std::vector<Outgoing>& out) {
  std::optional<Contact> reply_to;
  if (!m.from.endpoint.empty()) {
    reply_to = Contact{m.from.endpoint, m.from.public_key};
  } else {
    reply_to = contact_of(from_fp);
  }
  if (!reply_to) return;
  const size_t empty_push = encoded_size(message(MessageType::Push)) + kMessageSlackBytes;
  Message push = message(MessageType::Push);
  size_t used = empty_push, pushes = 0;
  const auto send = [&] {
    if (push.records.empty()) return;
    out.push_back(to(*reply_to, std::exchange(push, message(MessageType::Push))));
    used = empty_push;
    ++pushes;
    ++counters_.pushes_sent;
  };
  for (const uint64_t key : m.pull) {
    const Record* record = store_.find(key);
    if (!record) continue;
    const size_t bytes = record_wire_size(*record);
    if (empty_push + bytes > config_.max_message_bytes) continue;  // fits no message
    if (used + bytes > config_.max_message_bytes) {
      send();
      if (pushes == kMaxPushesPerPull) return;  // the puller asks again for the rest
    }
    used += bytes;
    push.records.emplace_back(record);
  }
  send();
}

std::vector<Outgoing> Protocol::leave(double now) {
  std::vector<Outgoing> out;
  if (left_) return out;
  NodeBody body = *draft_of(*store_.self().node).node;
  body.left = true;
  const RecordRef record = store_.write_self(std::move(body), local_.host_summary, now);
  left_ = true;
  if (!record) return out;
  Message goodbye = message(MessageType::Leave);
  goodbye.records.push_back(record);
  std::vector<uint64_t> told;
  for (unsigned i = 0; i < config_.fanout; ++i) {
    const Member* m = random_live_member(told.empty() ? 0 : told.back(), told.size() > 1 ? told[told.size() - 2] : 0);
    if (!m || std::find(told.begin(), told.end(), m->fp()) != told.end()) continue;
    told.push_back(m->fp());
    out.push_back(to(*m, goodbye));
  }
  return out;
}

// ---------------------------------------------------------------- queries

std::optional<std::string> Protocol::function_summary(const std::string& function) const {
  const Record* record = store_.function(function);
  if (!record) return std::nullopt;
  return std::string(record->payload());
}

namespace {
PeerView view_of(const Member& m, double now) {
  const Record& node = *m.node;
  return PeerView{std::string(node.key()), std::string(node.endpoint()), std::string(node.curve_key()),
                  m.state,                 now - from_ds(m.heard),       m.generation(),
                  m.version(),             node.capacity_cores(),        std::string(node.payload())};
}
}  // namespace

std::vector<PeerView> Protocol::peers(double now) const {
  std::vector<PeerView> views;
  views.reserve(store_.members().size());
  store_.members().for_each([&](const Member& m) {
    if (m.fp() != store_.self_fp()) views.push_back(view_of(m, now));
  });
  std::sort(views.begin(), views.end(), [](const auto& a, const auto& b) { return a.node_id < b.node_id; });
  return views;
}

std::optional<PeerView> Protocol::peer(const std::string& node_id, double now) const {
  const Member* m = store_.member(fingerprint(node_id));
  if (!m || m->node->key() != node_id || m->fp() == store_.self_fp()) return std::nullopt;
  return view_of(*m, now);
}

void Protocol::member_changed(const Member& member, PeerState before, double now) {
  if (member.state != PeerState::Suspect) suspicions_.erase(member.fp());
  if (observer_) observer_->member_state(member.fp(), before, member.state, now);
}

void Protocol::member_forgotten(uint64_t fp, double now) {
  (void)now;
  suspicions_.erase(fp);
  noticed_at_.erase(fp);
}

void Protocol::adopt_state(const Protocol& donor, double now, const std::vector<RecordRef>* functions) {
  store_.clone_from(donor.store_, now, functions);
  next_probe_at_ = now + rng_.unit() * config_.probe_interval_s;
  next_ae_at_ = now + rng_.unit() * config_.anti_entropy_interval_s;
  next_purge_at_ = now + rng_.unit();
  next_news_at_ = now;
  caught_up_ = true;
}

}  // namespace antiphase::gossip
