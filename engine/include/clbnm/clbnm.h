/* Umbrella header: everything public in clBNM. */
#ifndef CLBNM_H
#define CLBNM_H

#include "clbnm/bold.h"
#include "clbnm/cl_base.h"
#include "clbnm/cmaes.h"
#include "clbnm/codegen.h"
#include "clbnm/context.h"
#include "clbnm/data.h"
#include "clbnm/device.h"
#include "clbnm/engine.h"
#include "clbnm/fic.h"
#include "clbnm/fit.h"
#include "clbnm/h5out.h"
#include "clbnm/interp.h"
#include "clbnm/log.h"
#include "clbnm/model.h"
#include "clbnm/model_kernel.h"
#include "clbnm/model_spec.h"
#include "clbnm/optimize.h"
#include "clbnm/program.h"
#include "clbnm/run.h"
#include "clbnm/runtime.h"
#include "clbnm/status.h"
#include "clbnm/synth.h"
#include "clbnm/version.h"

#endif
