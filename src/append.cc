// AppendEvents: a base log grown by a separately ingested batch, keeping every base
// code, so that results computed on the base (timelines, states) stay addressable.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl_compat.h"
#include "salesperf/event_log.h"

namespace salesperf {

class EventLogAppender {
 public:
  static absl::StatusOr<Appended> Run(const EventLog& base, const EventLog& batch);
};

namespace {

using internal::Sv;

// Codes are int32: a merged column holds at most internal::MaxIdCodes() (INT32_MAX)
// distinct ids.
absl::Status TooMany(std::string_view column) {
  return absl::ResourceExhaustedError(absl::StrCat("column '", Sv(column), "': the base log and the batch hold more than ",
                                                   internal::MaxIdCodes(), " distinct ids; codes are 32-bit"));
}

// Puts batch values into `merged` (a copy of base): returns batch code -> merged code.
absl::StatusOr<std::vector<int32_t>> Merge(const Dictionary& base, const Dictionary& batch,
                                           std::string_view column, Dictionary& merged) {
  if (!base.empty() && !batch.empty() && base.kind() != batch.kind()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "column '", Sv(column), "': ids are ", base.is_integer() ? "integers" : "text",
        " in the base log but ", batch.is_integer() ? "integers" : "text", " in the batch"));
  }
  std::vector<int32_t> remap(static_cast<size_t>(batch.size()));
  if (base.empty() ? batch.is_integer() : base.is_integer()) {
    std::vector<int64_t> values = base.ints();
    absl::flat_hash_map<int64_t, int32_t> index;
    for (size_t i = 0; i < values.size(); ++i) index.emplace(values[i], static_cast<int32_t>(i));
    for (size_t i = 0; i < batch.ints().size(); ++i) {
      if (values.size() >= internal::MaxIdCodes() && !index.contains(batch.ints()[i])) return TooMany(column);
      auto [it, inserted] = index.try_emplace(batch.ints()[i], static_cast<int32_t>(values.size()));
      if (inserted) values.push_back(batch.ints()[i]);
      remap[i] = it->second;
    }
    merged = Dictionary::Ints(std::move(values));
  } else {
    std::vector<std::string> values = base.strings();
    absl::flat_hash_map<std::string, int32_t> index;
    for (size_t i = 0; i < values.size(); ++i) index.emplace(values[i], static_cast<int32_t>(i));
    for (size_t i = 0; i < batch.strings().size(); ++i) {
      if (values.size() >= internal::MaxIdCodes() && !index.contains(batch.strings()[i])) return TooMany(column);
      auto [it, inserted] = index.try_emplace(batch.strings()[i], static_cast<int32_t>(values.size()));
      if (inserted) values.push_back(batch.strings()[i]);
      remap[i] = it->second;
    }
    merged = Dictionary::Strings(std::move(values));
  }
  return remap;
}

int32_t Map(const std::vector<int32_t>& remap, int32_t code) {
  return code < 0 ? code : remap[static_cast<size_t>(code)];
}

}  // namespace

absl::StatusOr<Appended> EventLogAppender::Run(const EventLog& base, const EventLog& batch) {
  Appended out;
  EventLog& log = out.log;
  // Columns must agree, where both logs have events to tell.
  if (base.size() > 0 && batch.size() > 0) {
    const std::pair<const char*, bool> presence[] = {
        {"rep", base.rep().empty() != batch.rep().empty()},
        {"account", base.account().empty() != batch.account().empty()},
        {"contact", base.contact().empty() != batch.contact().empty()},
        {"contact_role", base.contact_role().empty() != batch.contact_role().empty()},
        {"amount", base.amount().empty() != batch.amount().empty()},
    };
    for (const auto& [name, differs] : presence) {
      if (differs) {
        return absl::InvalidArgumentError(
            absl::StrCat("column '", name, "' is in one log but not the other"));
      }
    }
  }
  const EventLog& shape = base.size() > 0 ? base : batch;
  std::vector<size_t> batch_dim(shape.dimensions().size());
  if (base.size() > 0 && batch.size() > 0) {
    if (base.dimensions().size() != batch.dimensions().size()) {
      return absl::InvalidArgumentError("the logs have different dimension columns");
    }
    for (size_t j = 0; j < base.dimensions().size(); ++j) {
      auto it = std::find_if(batch.dimensions().begin(), batch.dimensions().end(),
                             [&](const DimensionColumn& c) { return c.name == base.dimensions()[j].name; });
      if (it == batch.dimensions().end()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "dimension column '", base.dimensions()[j].name, "' is not in the batch"));
      }
      batch_dim[j] = static_cast<size_t>(it - batch.dimensions().begin());
    }
  } else {
    for (size_t j = 0; j < batch_dim.size(); ++j) batch_dim[j] = j;
  }

  // Actions: the base's vocabulary decides; a batch action must mean the same there.
  const Vocabulary& vocab = base.vocabulary().empty() ? batch.vocabulary() : base.vocabulary();
  for (int32_t a = 0; a < batch.actions().size(); ++a) {
    const std::string& name = batch.actions().strings()[static_cast<size_t>(a)];
    const std::optional<Actor> actor = vocab.Resolve(name);
    if (!actor) {
      return absl::InvalidArgumentError(
          absl::StrCat("column 'action': '", name, "' is not in the base log's vocabulary"));
    }
    if (*actor != batch.actor(a)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "column 'action': '", name, "' is a ", Sv(ActorName(batch.actor(a))),
          " action in the batch but a ", Sv(ActorName(*actor)), " action in the base log"));
    }
  }
  auto deal_map = Merge(base.deals(), batch.deals(), "deal", log.deals_);
  if (!deal_map.ok()) return deal_map.status();
  auto action_map = Merge(base.actions(), batch.actions(), "action", log.actions_);
  if (!action_map.ok()) return action_map.status();
  log.action_actor_.clear();
  for (const std::string& name : log.actions_.strings()) {
    log.action_actor_.push_back(static_cast<uint8_t>(*vocab.Resolve(name)));
  }
  auto rep_map = Merge(base.reps(), batch.reps(), "rep", log.reps_);
  if (!rep_map.ok()) return rep_map.status();
  auto account_map = Merge(base.accounts(), batch.accounts(), "account", log.accounts_);
  if (!account_map.ok()) return account_map.status();
  auto contact_map = Merge(base.contacts(), batch.contacts(), "contact", log.contacts_);
  if (!contact_map.ok()) return contact_map.status();
  auto role_map = Merge(base.contact_roles(), batch.contact_roles(), "contact_role", log.contact_roles_);
  if (!role_map.ok()) return role_map.status();
  std::vector<std::vector<int32_t>> dim_maps(shape.dimensions().size());
  for (size_t j = 0; j < shape.dimensions().size(); ++j) {
    Dictionary merged;
    const Dictionary empty;
    const Dictionary& b = base.size() > 0 ? base.dimensions()[j].dictionary : empty;
    const Dictionary& n = batch.size() > 0 ? batch.dimensions()[batch_dim[j]].dictionary : empty;
    auto map = Merge(b, n, shape.dimensions()[j].name, merged);
    if (!map.ok()) return map.status();
    dim_maps[j] = *std::move(map);
    log.dimensions_.push_back(DimensionColumn{shape.dimensions()[j].name, {}, std::move(merged)});
  }
  log.vocabulary_ = vocab;

  const bool has_rep = !shape.rep().empty(), has_account = !shape.account().empty(),
             has_contact = !shape.contact().empty(), has_role = !shape.contact_role().empty(),
             has_amount = !shape.amount().empty();
  int64_t row_offset = 0;
  for (int64_t r : base.row()) row_offset = std::max(row_offset, r + 1);

  // Which batch deal feeds each merged deal.
  const auto num_deals = static_cast<size_t>(log.deals_.size());
  std::vector<int32_t> from_batch(num_deals, -1);
  for (int32_t b = 0; b < batch.num_deals(); ++b) from_batch[static_cast<size_t>((*deal_map)[static_cast<size_t>(b)])] = b;

  const size_t total = static_cast<size_t>(base.size() + batch.size());
  for (auto* c : {&log.deal_, &log.action_, &log.rep_, &log.account_, &log.contact_, &log.contact_role_}) {
    c->reserve(total);
  }
  log.time_.reserve(total);
  log.row_.reserve(total);
  if (has_amount) log.amount_.reserve(total);
  log.deal_offsets_.assign(1, 0);

  // Batch event k of batch, in merged codes, compared with base event i.
  auto same = [&](size_t i, size_t k) {
    if (base.action()[i] != Map(*action_map, batch.action()[k])) return false;
    if (has_rep && base.rep()[i] != Map(*rep_map, batch.rep()[k])) return false;
    if (has_account && base.account()[i] != Map(*account_map, batch.account()[k])) return false;
    if (has_contact && base.contact()[i] != Map(*contact_map, batch.contact()[k])) return false;
    if (has_role && base.contact_role()[i] != Map(*role_map, batch.contact_role()[k])) return false;
    if (has_amount) {
      const double x = base.amount()[i], y = batch.amount()[k];
      if (!(x == y || (std::isnan(x) && std::isnan(y)))) return false;
    }
    for (size_t j = 0; j < dim_maps.size(); ++j) {
      if (base.dimensions()[j].codes[i] != Map(dim_maps[j], batch.dimensions()[batch_dim[j]].codes[k])) {
        return false;
      }
    }
    return true;
  };
  auto push_base = [&](int32_t d, size_t i) {
    log.deal_.push_back(d);
    log.time_.push_back(base.time()[i]);
    log.action_.push_back(base.action()[i]);
    log.row_.push_back(base.row()[i]);
    if (has_rep) log.rep_.push_back(base.rep()[i]);
    if (has_account) log.account_.push_back(base.account()[i]);
    if (has_contact) log.contact_.push_back(base.contact()[i]);
    if (has_role) log.contact_role_.push_back(base.contact_role()[i]);
    if (has_amount) log.amount_.push_back(base.amount()[i]);
    for (size_t j = 0; j < dim_maps.size(); ++j) log.dimensions_[j].codes.push_back(base.dimensions()[j].codes[i]);
  };
  auto push_batch = [&](int32_t d, size_t k) {
    log.deal_.push_back(d);
    log.time_.push_back(batch.time()[k]);
    log.action_.push_back(Map(*action_map, batch.action()[k]));
    log.row_.push_back(row_offset + batch.row()[k]);
    if (has_rep) log.rep_.push_back(Map(*rep_map, batch.rep()[k]));
    if (has_account) log.account_.push_back(Map(*account_map, batch.account()[k]));
    if (has_contact) log.contact_.push_back(Map(*contact_map, batch.contact()[k]));
    if (has_role) log.contact_role_.push_back(Map(*role_map, batch.contact_role()[k]));
    if (has_amount) log.amount_.push_back(batch.amount()[k]);
    for (size_t j = 0; j < dim_maps.size(); ++j) {
      log.dimensions_[j].codes.push_back(Map(dim_maps[j], batch.dimensions()[batch_dim[j]].codes[k]));
    }
  };

  for (size_t d = 0; d < num_deals; ++d) {
    const auto di = static_cast<int32_t>(d);
    size_t i = 0, i_end = 0, k = 0, k_end = 0;
    if (d < static_cast<size_t>(base.num_deals())) {
      i = static_cast<size_t>(base.deal_offsets()[d]);
      i_end = static_cast<size_t>(base.deal_offsets()[d + 1]);
    }
    if (from_batch[d] >= 0) {
      k = static_cast<size_t>(batch.deal_offsets()[static_cast<size_t>(from_batch[d])]);
      k_end = static_cast<size_t>(batch.deal_offsets()[static_cast<size_t>(from_batch[d]) + 1]);
    }
    bool gained = false;
    const size_t base_first = i;
    while (i < i_end || k < k_end) {
      if (k == k_end || (i < i_end && base.time()[i] <= batch.time()[k])) {
        push_base(di, i++);
        continue;
      }
      // A batch event equal to a base event of the same instant is already there.
      // Base events up to this instant are already out: look back over its run.
      bool duplicate = false;
      for (size_t x = i; x-- > base_first && base.time()[x] == batch.time()[k];) {
        if (same(x, k)) {
          duplicate = true;
          break;
        }
      }
      if (duplicate) {
        out.duplicate_rows.push_back(batch.row()[k]);
      } else {
        push_batch(di, k);
        gained = true;
      }
      ++k;
    }
    if (gained) out.touched_deals.push_back(di);
    log.deal_offsets_.push_back(static_cast<int64_t>(log.time_.size()));
  }
  if (!has_rep) log.rep_.clear();
  if (!has_account) log.account_.clear();
  if (!has_contact) log.contact_.clear();
  if (!has_role) log.contact_role_.clear();
  std::sort(out.duplicate_rows.begin(), out.duplicate_rows.end());
  return out;
}

absl::StatusOr<Appended> AppendEvents(const EventLog& base, const EventLog& batch) {
  return EventLogAppender::Run(base, batch);
}

}  // namespace salesperf
