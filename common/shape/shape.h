#pragma once
// Everything the rest of antiphase uses from the shape model, in one include.
#include "common/shape/embedding.h"
#include "common/shape/shape_config.h"
#include "common/shape/resample.h"
#include "common/shape/shape_model.h"
#include "common/shape/slot_profile.h"
#include "common/shape/state_file.h"
#include "common/shape/summary.h"
