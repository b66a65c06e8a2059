package render_test

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"time"

	"github.com/troupebot/troupe/render"
)

func ExampleRender() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s := render.Series{
		Values: []float64{3, 5, 2, 8, 6, 1, 4},
		Labels: []string{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"},
	}
	b, err := render.Render(ctx, s, render.Options{Kind: render.Bar, Title: "Coffees this week", YLabel: "cups"})
	if err != nil {
		fmt.Println(err)
		return
	}
	// b is ready for sendPhoto; here we only look at it.
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(img.Bounds().Dx(), "x", img.Bounds().Dy())
	// Output: 800 x 500
}

func ExampleParseKind() {
	for _, word := range []string{"line", "histogram", "pie"} {
		k, err := render.ParseKind(word)
		fmt.Printf("%q %v\n", k, err)
	}
	// Output:
	// "line" <nil>
	// "hist" <nil>
	// "" render: unknown chart kind: "pie"
}

func ExampleDownsample() {
	// Keep 4 of 11 points: the ends, and the spike at index 5 survives.
	y := []float64{0, 1, 0, 1, 0, 9, 0, 1, 0, 1, 0}
	fmt.Println(render.Downsample(nil, y, 4))
	// Output: [0 4 5 10]
}
