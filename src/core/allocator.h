#pragma once
// Keeps large buffers in the heap instead of fresh mmap()s. libtorch allocates a new tensor
// for nearly every op; with glibc's defaults each allocation above the mmap threshold is a
// new mapping whose pages fault in (and are zeroed) on first touch. On the 2-core machines
// here that made a 3×3 convolution 4× and a ReLU 3× slower (bench/train_throughput).
// Call once at program start; an explicit MALLOC_MMAP_THRESHOLD_ / MALLOC_TRIM_THRESHOLD_
// in the environment wins.
namespace dalnas {

void tune_allocator();

}  // namespace dalnas
