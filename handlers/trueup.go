package handlers

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/shared-tenant/licensetrack/shared/licensing"
	"github.com/shared-tenant/licensetrack/shared/renewals"
)

// trueUp serves GET /api/true-up/{enrollment}?format=json|xlsx&current=N&on=
// YYYY-MM-DD: the enrollment's true-up worksheet as JSON, or its workbook
// through a short-lived download link (the host does not pass binary
// answers reliably). A query it cannot read is 400 with what to send.
func (s *Server) trueUp(ctx context.Context, r *Request) (*Response, error) {
	if r.Method != http.MethodGet {
		return methodNotAllowed(r.Method, "GET"), nil
	}
	number, format, opts, err := trueUpQuery(r)
	if err != nil {
		return nil, err
	}
	if format == "xlsx" {
		link, file, ws, err := s.renewals.WorksheetWorkbook(ctx, r.Caller, number, opts, linkLifetime)
		if err != nil {
			return nil, err
		}
		r.Log.Info("workbook ready", "file", file)
		name := "true-up-" + ws.Enrollment + "-" + ws.On.String() + ".xlsx"
		return &Response{Status: http.StatusOK, Body: trueUpWorkbookResponse{
			workbookResponse: workbookResponse{URL: link, Expires: s.now().UTC().Add(linkLifetime).Format(time.RFC3339),
				Message: "Download the workbook " + name + " from url within 15 minutes."},
			FileName: name,
		}}, nil
	}
	ws, err := s.renewals.Worksheet(ctx, r.Caller, number, opts)
	if err != nil {
		return nil, err
	}
	return &Response{Status: http.StatusOK, Body: newTrueUpResponse(ws)}, nil
}

// trueUpQuery reads the enrollment number, the format and the options of a
// true-up request; each value it cannot read is a field of one 400.
func trueUpQuery(r *Request) (number, format string, opts renewals.TrueUpOptions, err error) {
	var fe licensing.FieldErrors
	number = strings.TrimSpace(r.Params["enrollment"])
	if number == "" {
		fe.Add("enrollment", "is required: name the enrollment in the path, like /api/true-up/EA-1234567")
	}
	switch format = strings.ToLower(strings.TrimSpace(r.Query["format"])); format {
	case "", "json":
		format = "json"
	case "xlsx":
	default:
		fe.Add("format", "must be json (the worksheet) or xlsx (a link to the workbook)")
	}
	if v := strings.TrimSpace(r.Query["current"]); v != "" {
		n, perr := strconv.Atoi(v)
		if perr != nil {
			fe.Add("current", "must be a whole number: the qualified users to report, like current=1250")
		}
		opts.Current = &n
	}
	if v := strings.TrimSpace(r.Query["on"]); v != "" {
		d, perr := licensing.ParseDate(v)
		if perr != nil {
			fe.Add("on", "must be a date like 2027-01-15: the day to prepare the worksheet for (default today)")
		}
		opts.On = d
	}
	if len(fe) > 0 {
		return "", "", opts, &licensing.Error{Op: "handlers.trueUp", Code: licensing.Malformed,
			Message: "The request has " + licensing.Plural(len(fe), "problem") + "; see fields.", Fields: fe}
	}
	return number, format, opts, nil
}

// trueUpWorkbookResponse answers format=xlsx: the download link and the
// name to save the workbook under.
type trueUpWorkbookResponse struct {
	workbookResponse
	FileName string `json:"fileName"`
}

// trueUpResponse is a true-up worksheet (format=json).
type trueUpResponse struct {
	Enrollment       string                `json:"enrollment"`
	Kind             string                `json:"kind"`
	Anniversary      licensing.Date        `json:"anniversary"`
	On               licensing.Date        `json:"on"`
	Window           trueUpWindowResponse  `json:"window"`
	LastReported     int                   `json:"lastReported"`
	Current          int                   `json:"current"`
	CurrentFrom      string                `json:"currentFrom"`
	Peak             int                   `json:"peak"`
	PeakOn           licensing.Date        `json:"peakOn"`
	Latest           int                   `json:"latest"`
	LatestOn         licensing.Date        `json:"latestOn"`
	Snapshots        int                   `json:"snapshots"`
	Increment        int                   `json:"increment"`
	Order            []orderLineResponse   `json:"order"`
	AfterAnniversary []orderLineResponse   `json:"afterAnniversary"`
	UpdateStatement  bool                  `json:"updateStatement"`
	Agencies         []agencyShareResponse `json:"agencies"`
	Uncovered        []uncoveredResponse   `json:"uncovered"`
	Notes            []string              `json:"notes,omitempty"`
	Prepared         time.Time             `json:"prepared"`
}

type trueUpWindowResponse struct {
	Opens  licensing.Date `json:"opens"`
	Closes licensing.Date `json:"closes"`
	State  string         `json:"state"`
}

type orderLineResponse struct {
	Product  string `json:"product"`
	Quantity int    `json:"quantity"`
	Kind     string `json:"kind"`
	Reason   string `json:"reason"`
}

type agencyShareResponse struct {
	Agency string `json:"agency"`
	Name   string `json:"name,omitempty"`
	Peak   int    `json:"peak"`
	Share  int    `json:"share"`
}

type uncoveredResponse struct {
	Agency     string         `json:"agency"`
	SkuID      string         `json:"skuId"`
	PartNumber string         `json:"skuPartNumber,omitempty"`
	Product    string         `json:"product"`
	Peak       int            `json:"peak"`
	PeakOn     licensing.Date `json:"peakOn"`
	Purchased  int            `json:"purchased"`
	Short      int            `json:"short"`
}

func newTrueUpResponse(ws licensing.TrueUpWorksheet) trueUpResponse {
	line := func(l licensing.OrderLine) orderLineResponse {
		return orderLineResponse{Product: l.Product, Quantity: l.Quantity, Kind: l.Kind, Reason: l.Reason}
	}
	return trueUpResponse{
		Enrollment: ws.Enrollment, Kind: ws.Kind, Anniversary: ws.Anniversary, On: ws.On,
		Window:       trueUpWindowResponse{Opens: ws.Window.Opens, Closes: ws.Window.Closes, State: ws.Window.State},
		LastReported: ws.LastReported, Current: ws.Current, CurrentFrom: ws.CurrentFrom,
		Peak: ws.Peak, PeakOn: ws.PeakOn, Latest: ws.Latest, LatestOn: ws.LatestOn, Snapshots: ws.Snapshots, Increment: ws.Increment,
		Order: mapList(ws.Order, line), AfterAnniversary: mapList(ws.AfterAnniversary, line), UpdateStatement: ws.UpdateStatement,
		Agencies: mapList(ws.Agencies, func(a licensing.AgencyShare) agencyShareResponse {
			return agencyShareResponse{Agency: a.Agency, Name: a.Name, Peak: a.Peak, Share: a.Share}
		}),
		Uncovered: mapList(ws.Uncovered, func(u licensing.Uncovered) uncoveredResponse {
			return uncoveredResponse{Agency: u.Agency, SkuID: u.SkuID, PartNumber: u.PartNumber, Product: u.Product,
				Peak: u.Peak, PeakOn: u.PeakOn, Purchased: u.Purchased, Short: u.Short}
		}),
		Notes: ws.Notes, Prepared: ws.Prepared,
	}
}
