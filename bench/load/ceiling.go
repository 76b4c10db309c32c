package main

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"

	"github.com/labstack/echo/v4"

	"github.com/agenda-gpt/agenda"
)

// serveCeiling is the bare Echo server every result is compared with: the
// same routes answering the same JSON, encoded the same way (from the same
// events, on every request), with no authentication, no validation, no
// database and no log. What the app does in between is the difference.
func serveCeiling(samplePath string) error {
	raw, err := os.ReadFile(samplePath)
	if err != nil {
		return err
	}
	var events []agenda.Event
	if err := json.Unmarshal(raw, &events); err != nil || len(events) == 0 {
		return fmt.Errorf("ceiling: sample events: %v", err)
	}
	one := events[0]

	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.GET("/healthz", func(c echo.Context) error { return c.JSON(http.StatusOK, map[string]string{"status": "ok"}) })
	list := agenda.Page{Events: events}
	e.GET("/api/events", func(c echo.Context) error {
		b, err := list.MarshalJSON() // as the app answers a listing
		if err != nil {
			return err
		}
		return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, b)
	})
	e.GET("/api/events/:id", func(c echo.Context) error { return writeJSON(c, http.StatusOK, one) })
	e.POST("/api/events", func(c echo.Context) error {
		io.Copy(io.Discard, c.Request().Body)
		c.Response().Header().Set(echo.HeaderLocation, "/api/events/"+one.ID)
		return writeJSON(c, http.StatusCreated, one)
	})
	e.PATCH("/api/events/:id", func(c echo.Context) error {
		io.Copy(io.Discard, c.Request().Body)
		return writeJSON(c, http.StatusOK, one)
	})
	e.DELETE("/api/events/:id", func(c echo.Context) error { return c.NoContent(http.StatusNoContent) })

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Println(ln.Addr().String())
	srv := &http.Server{Handler: e, ErrorLog: slog.NewLogLogger(slog.Default().Handler(), slog.LevelWarn)}
	return srv.Serve(ln)
}

// writeJSON encodes like the app's api.writeJSON: no HTML escaping.
func writeJSON(c echo.Context, status int, v any) error {
	c.Response().Header().Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
	c.Response().WriteHeader(status)
	enc := json.NewEncoder(c.Response())
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
