#include <stdio.h>
#include <string.h>

#include "cli.h"

static void print_usage(FILE *out)
{
    fprintf(out,
            "usage: clbnm devices [OPTIONS]\n"
            "\n"
            "Lists every OpenCL platform and device with the index to pass to --device.\n"
            "The device marked '*' is the one used when no --device is given.\n"
            "\n"
            "options:\n%s",
            cli_common_help);
}

static void print_mem(const char *label, uint64_t bytes)
{
    if (bytes >= (1ull << 30))
        printf("    %-16s %.1f GiB\n", label, (double)bytes / (1ull << 30));
    else
        printf("    %-16s %.0f KiB\n", label, (double)bytes / 1024.0);
}

int cmd_devices(int argc, char **argv)
{
    cli_common common = {0};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            print_usage(stdout);
            return CLI_EXIT_OK;
        }
        int r = cli_parse_common(argc, argv, &i, &common);
        if (r < 0)
            return CLI_EXIT_USAGE;
        if (r == 0)
            return cli_usage_error("devices", "unexpected argument '%s'", argv[i]);
    }

    bnm_context *ctx = NULL;
    bnm_device_list *list = NULL;
    int code = CLI_EXIT_OK;
    size_t chosen = 0;
    if (bnm_context_create(&ctx) != BNM_OK)
        return CLI_EXIT_DEVICE;
    bnm_status st = bnm_device_list_create(ctx, &list);
    if (st == BNM_OK)
        st = bnm_device_list_select(list, ctx, common.device, &chosen);
    if (st != BNM_OK) {
        code = cli_report(ctx, st);
        goto done;
    }
    unsigned last_platform = ~0u;
    for (size_t i = 0; i < bnm_device_list_count(list); i++) {
        const bnm_device_info *d = bnm_device_list_get(list, i);
        if (d->platform_index != last_platform) {
            printf("platform %u: %s (%s)\n", d->platform_index, d->platform_name,
                   d->platform_version);
            last_platform = d->platform_index;
        }
        printf("  %c %u:%u  %s\n", i == chosen ? '*' : ' ', d->platform_index, d->device_index,
               d->name);
        printf("    %-16s %s\n", "vendor", d->vendor);
        printf("    %-16s %s\n", "type", bnm_device_kind_name(d->kind));
        print_mem("global memory", d->global_mem_bytes);
        print_mem("local memory", d->local_mem_bytes);
        printf("    %-16s %u\n", "compute units", d->compute_units);
        printf("    %-16s %s\n", "fp64", d->fp64 ? "yes" : "no");
        printf("    %-16s %s\n", "OpenCL C", d->opencl_c_version);
        printf("    %-16s %s\n", "driver", d->driver_version);
    }
done:
    bnm_device_list_destroy(list);
    bnm_context_destroy(ctx);
    return code;
}
