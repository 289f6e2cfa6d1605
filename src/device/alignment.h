#pragma once
// What deployment-aligned training projects for a device profile (the bridge from
// device/profile.h to precision/alignment.h; see there for the semantics).
#include "device/profile.h"
#include "precision/alignment.h"

namespace dalnas {

// The profile's conversions, storage, pre-scaling, accumulation and upsampling mode as
// the training forward pass follows them. Input: the host's cast for FP16 inputs, the
// device's Convert otherwise; a half_pixel upsample runs as the profile's mode.
DeviceAlignment alignment_for(const DeviceProfile& profile);

}  // namespace dalnas
