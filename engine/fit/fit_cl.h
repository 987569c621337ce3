/* The fit module's OpenCL C source (fit_cl.c). */
#ifndef CLBNM_FIT_CL_H
#define CLBNM_FIT_CL_H

extern const char bnm_fit_cl_source[];

#endif
