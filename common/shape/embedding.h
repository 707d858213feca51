#pragma once
// Compact description of a profile's shape (first k DCT-II coefficients plus the
// energies needed to bound what the truncation lost) and the correlation estimate
// between two such descriptions.
#include <cstdint>
#include <Eigen/Dense>

#include "common/shape/slot_profile.h"

namespace antiphase::shape {

struct FoldEmbedding {
  uint32_t slots = 0;
  uint32_t period_s = 0;
  Eigen::VectorXd mean_coef;    // first k orthonormal DCT-II coefficients, [0] is DC
  Eigen::VectorXd spread_coef;  // same for the spread (stddev) profile
  double mean_energy = 0;       // sum over slots of mean^2 (= sum of ALL squared coefficients)
  double spread_energy = 0;
  // Upper bound on the L2 distance (over slots) between the profile these numbers
  // describe and the true one; non-zero only for embeddings rebuilt from quantised
  // summaries.
  double mean_error_l2 = 0;
  double spread_error_l2 = 0;
  bool empty() const { return slots == 0; }
  // Energy around the profile's own mean (what correlation normalises by).
  double mean_centered_energy() const;
  // Energy of the AC coefficients past the first k (what truncation dropped).
  double mean_residual_energy() const;
};

struct Embedding {
  FoldEmbedding day;
  FoldEmbedding hour;  // empty for embeddings derived from summaries (day fold only)
};

enum class Fold { day, hour };

// |rho_exact - rho| <= bound always holds, where rho_exact is the Pearson correlation
// of the two full-resolution mean profiles (flat profiles count as correlation 0).
struct CorrelationEstimate {
  double rho = 0;
  double bound = 1;
};

CorrelationEstimate correlate(const Embedding& a, const Embedding& b, Fold fold = Fold::day);
CorrelationEstimate correlate(const FoldEmbedding& a, const FoldEmbedding& b);

// Pearson correlation of the per-slot means; 0 when either profile is flat or the
// slot counts differ.
double exact_correlation(const SlotProfile& a, const SlotProfile& b);

// Embedding of a full-resolution profile (used for summaries and tests).
FoldEmbedding embed_profile(const SlotProfile& profile, uint32_t k);

}  // namespace antiphase::shape
