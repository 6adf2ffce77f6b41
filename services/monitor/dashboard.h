/*
 * dashboard.h - the monitor's web page, compiled in from dashboard.html.
 *
 * One self-contained HTML page: inline CSS and JavaScript that draw every
 * chart as SVG, fetch the JSON API every two seconds and redraw. No CDN, no
 * build step: editing dashboard.html and rebuilding is all there is.
 */
#ifndef LYCEUM_MONITOR_DASHBOARD_H
#define LYCEUM_MONITOR_DASHBOARD_H

/* The page (NUL-terminated) and its length in bytes. */
extern const char *const lyc_dashboard_html;
extern const unsigned long lyc_dashboard_len;

#endif
