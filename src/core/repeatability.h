#pragma once
// Repeatability of a score that has noise of its own: several networks (genomes), each
// trained with several seeds, one score per training (e.g. the val device mIoU after 30
// epochs). How much of the spread between the networks' scores is the networks, and how
// much is the seed? One-way random-effects analysis of variance over a balanced table
// (every genome the same number r >= 2 of seeds):
//
//   score[g][s] = mu + a_g + e_gs,   var(a_g) = genome_var, var(e_gs) = seed_var
//   MS_within  = sum (score - mean_g)^2 / (n (r - 1))        estimates seed_var
//   MS_between = r * sum (mean_g - mean)^2 / (n - 1)          estimates seed_var + r genome_var
//   genome_var = max(0, (MS_between - MS_within) / r),  F = MS_between / MS_within
//
// The p-value of "the genomes do not differ" (genome_var = 0) is a permutation test: the
// n r scores are dealt to the genomes at random (seeded) and F recomputed; p is the share of
// deals (the observed one counted) with F at least the observed. It makes no normality
// assumption and is exact in expectation.
//
// From the two components: the reliability of a reference that averages k seeds,
//   R_k = genome_var / (genome_var + seed_var / k),
// and, for normal scores, the Kendall tau to expect between two such references trained
// independently, (2 / pi) asin(R_k) (Greiner's relation between tau and Pearson's r of a
// bivariate normal; two k-seed means correlate at R_k). No proxy can be expected to rank
// like a k-seed reference better than that reference ranks like itself.
#include <cstdint>
#include <vector>

namespace dalnas {

struct Repeatability {
  int genomes = 0;            // n
  int seeds = 0;              // r, seeds per genome
  double mean = 0;            // grand mean of the scores
  double seed_sd = 0;         // sqrt(MS_within): the sd of one score across seeds
  double genome_sd = 0;       // sqrt(genome_var): the sd of the genomes' true scores
  double raw_between_sd = 0;  // sd of the genomes' first-seed scores (what one seed shows)
  double f = 0;               // MS_between / MS_within (inf when MS_within is 0)
  double p = 1;               // permutation p-value of genome_var = 0

  // R_k (0 when genome_var is 0; 1 when seed_var is 0 and genome_var is not).
  double reliability(int k) const;
  // (2 / pi) asin(R_k): the tau expected between two independent k-seed references.
  double expected_tau(int k) const;
  // The fewest seeds per genome k for which expected_tau(k) >= tau (tau in (0, 1)); -1 when
  // no k does (genome_var is 0), 1 when one seed already does.
  int seeds_for_tau(double tau) const;
};

// The analysis of `scores` (one row per genome, one column per seed; every row the same
// length >= 2, at least two rows, every value finite; dalnas::Error naming what is wrong
// otherwise). `permutations` deals for the p-value, drawn from Rng(`seed`).
Repeatability repeatability(const std::vector<std::vector<double>>& scores, int permutations = 9999,
                            uint64_t seed = 1);

}  // namespace dalnas
