#pragma once
// Orthonormal DCT-II basis: phi_j(b) = s_j cos(pi (b + 1/2) j / N), s_0 = sqrt(1/N),
// s_j = sqrt(2/N). Orthonormality is what lets the embedding keep Parseval's
// identity (energy = sum of all squared coefficients), on which the correlation
// bound rests.
#include <cstdint>
#include <Eigen/Dense>

namespace antiphase::shape {

// Row b holds phi_0(b) .. phi_{k-1}(b) (row-major so that one slot's update reads
// k contiguous values). Computed once per (slots, k) and shared by all models.
using DctBasis = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
const DctBasis& dct_basis(uint32_t slots, uint32_t k);

}  // namespace antiphase::shape
