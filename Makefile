# dalnas: the two quick-start commands are `make run` and `make test`.
BUILD ?= build
JOBS ?= $(shell nproc)
CTEST_ARGS ?=

.PHONY: run test deps build test-all bench format clean

## Install dependencies, build (Release) and run the main job: `dalnas search` on its
## built-in default (synthetic scenes, Myriad X target, FP16-aligned training), into
## runs/search-<timestamp>/, and print the path of its report (report.html, opens offline).
RUN_OUT ?= runs/search-$(shell date +%Y%m%d-%H%M%S)
run: deps build
	./$(BUILD)/dalnas search --out $(RUN_OUT)
	@test -f $(RUN_OUT)/report.html && echo "report: $(RUN_OUT)/report.html" || \
	  echo "no report was written (see the warning above); dalnas report $(RUN_OUT) writes it"

## Install dependencies, build and run every test (slow end-to-end checks in their short form).
test: deps build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS) $(CTEST_ARGS)

deps:
	bash scripts/install-deps.sh

build:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release > /dev/null
	cmake --build $(BUILD) -j$(JOBS)

bench: deps build
	./$(BUILD)/bench/train_throughput
	./$(BUILD)/bench/emulator_throughput
	./$(BUILD)/bench/search_strategies

format:
	clang-format -i $$(git ls-files '*.h' '*.cpp')

clean:
	rm -rf $(BUILD)
