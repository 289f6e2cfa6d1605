// Built instead of mpi_session.cpp, mpi_worker.cpp, mpi_evaluator.cpp, mpi_transport.cpp,
// mpi_farm.cpp, mpi_census.cpp, mpi_compare.cpp, mpi_final.cpp and mpi_evaluations.cpp
// when CMake found no MPI: `--evaluator mpi` then says so, and everything else works.
#include <stdexcept>

#include "core/error.h"
#include "dist/mpi_census.h"
#include "dist/mpi_compare.h"
#include "dist/mpi_evaluations.h"
#include "dist/mpi_evaluator.h"
#include "dist/mpi_final.h"
#include "dist/mpi_session.h"
#include "dist/mpi_worker.h"

namespace dalnas::dist {

namespace {

[[noreturn]] void not_built() {
  throw Error(
      "--evaluator mpi: this dalnas was built without MPI (install libopenmpi-dev and "
      "openmpi-bin, then configure and build again)");
}

}  // namespace

bool mpi_available() {
  return false;
}

MpiSession::MpiSession() {
  not_built();
}
MpiSession::~MpiSession() = default;
int MpiSession::default_threads() const {
  return 1;
}

void run_worker(MpiSession&) {
  not_built();
}

MpiEvaluator::MpiEvaluator(MpiSession& session, const SearchConfig&, const std::string&)
    : session_(session) {
  not_built();
}
MpiEvaluator::~MpiEvaluator() = default;
int MpiEvaluator::workers() const {
  return 0;
}
int MpiEvaluator::idle() const {
  return 0;
}
void MpiEvaluator::submit(const Candidate&, const std::vector<EvaluationRecord>&) {
  not_built();
}
std::pair<uint64_t, EvalOutcome> MpiEvaluator::wait() {
  not_built();
}

CompareResult run_compare_mpi(MpiSession&, const CompareOptions&, const CompareProgress&) {
  not_built();
}

std::vector<nlohmann::json> run_final_mpi(
    MpiSession&, const std::vector<FinalJob>&, const std::function<void(const std::string&)>&,
    const std::function<void(size_t, const nlohmann::json&)>&) {
  not_built();
}

void run_evaluations_mpi(MpiSession&, const std::vector<Job>&,
                         const std::function<void(size_t, const EvalOutcome&, int, double)>&) {
  not_built();
}

CensusResult run_census_mpi(MpiSession&, const CensusOptions&, const CensusProgress&,
                            const std::function<void(const CensusResult&)>&, const CensusResult*) {
  not_built();
}

}  // namespace dalnas::dist
