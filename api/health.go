package api

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

// handleHealthz says the process is up; it touches nothing else, so an
// identity provider outage never makes an orchestrator restart the app.
func (s *server) handleHealthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// handleReadyz says whether the database answers.
func (s *server) handleReadyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	if err := s.Ready(ctx); err != nil {
		c.Set(logErrorKey, err)
		c.Response().Header().Set(echo.HeaderRetryAfter, "5")
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "detail": "the database does not answer"})
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
}
