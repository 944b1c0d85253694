// Placeholder: being written.
#include "salesperf/deviance.h"
#include "salesperf/targets.h"
