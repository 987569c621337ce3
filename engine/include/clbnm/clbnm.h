/* Umbrella header: everything public in clBNM. */
#ifndef CLBNM_H
#define CLBNM_H

#include "clbnm/cl_base.h"
#include "clbnm/context.h"
#include "clbnm/data.h"
#include "clbnm/device.h"
#include "clbnm/log.h"
#include "clbnm/model.h"
#include "clbnm/program.h"
#include "clbnm/run.h"
#include "clbnm/runtime.h"
#include "clbnm/status.h"
#include "clbnm/version.h"

#endif
