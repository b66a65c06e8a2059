// Package render draws charts: a Series of values in, PNG bytes out. It is
// how Troupe's chart actors turn what a user recorded into a photo for
// Telegram's sendPhoto, and it knows nothing of actors or Telegram.
//
// Render is the whole API; ParseKind maps a user's word to a Kind, and
// Downsample exposes the line downsampler for anyone who wants it. A render
// goes through three stages, and checks its context between them:
//
//  1. Prepare. Non-finite values are dropped (the chart's X axis label says
//     how many), user text is cleaned and shortened (characters the embedded
//     Liberation Sans cannot draw, such as CJK and emoji, show as □), and
//     values near the
//     limits of float64 are shifted by a power of ten shown on the axis
//     ("×1e300"), so ranges and ticks stay finite. Large series are cut down to
//     what an image can show: a line keeps about one point per pixel column,
//     chosen by largest-triangle-three-buckets (Downsample), which keeps peaks
//     and troughs; a bar chart draws bucket means past 60 bars (fewer on a
//     narrow image); a histogram bins every value but draws at most 50 bins. Prepare costs one pass over
//     the values, so a million points draw about as fast as a thousand.
//
//  2. Draw. gonum/plot draws into an *image.RGBA through vgimg, with sizes in
//     points and a resolution that grows with the image, chosen so an
//     800x500 chart stays legible on a phone. Ticks are placed here rather
//     than by gonum's tickers, which take no tick count and put time ticks at
//     round numbers of Unix seconds (ticks.go says where each falls short):
//     round numbers with k/M suffixes, and for times, whole seconds, minutes,
//     hours, midnights, Mondays, months and years, with the date where it
//     changes, for spans from a second to centuries.
//
//  3. Encode. Charts use four inks on white, and antialiasing only blends
//     them, so the RGBA image maps onto a fixed 237-colour palette of those
//     blends with no visible loss. The 8-bit paletted PNG is written by
//     writePNG rather than image/png: deflate looking only for runs and
//     repeated rows, the only matches a chart has, takes a third of the time
//     of compress/flate's fastest level for a PNG about a fifth larger, and
//     a tenth of png.Encode's for the RGBA image at about half the size.
//     docs/performance.md has the figures.
//
// Images, encoder state and colour lookups are pooled, so a chart allocates
// little beyond its output; the pools are safe for concurrent Render calls.
//
// Nothing here touches the filesystem: gonum/plot's fonts are compiled in and
// cached in memory, and the PNG is built in a buffer. The bot runs in
// read-only containers, where the Python bot it replaces failed on
// matplotlib's font cache directory.
package render
