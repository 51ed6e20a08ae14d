package handlers

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

// TestPurchaseOrderPrices sends purchase orders with unit prices: a price
// as a JSON number or as text, with its currency in any case, is kept
// exact on the request's line; a price without a currency, a currency
// without a price, a negative, non-numeric or over-precise price and an
// unknown currency are 422 with the line's field, and nothing is written.
func TestPurchaseOrderPrices(t *testing.T) {
	srv, store := intakeServer(t, 0)
	r := postIntake(t, srv, "PurchaseOrders", "purchase-orders", nil, "application/json", poJSON(func(m map[string]any) {
		m["lines"] = []map[string]any{
			{"sku": "VISIOCLIENT", "quantity": 25, "unitPrice": json.Number("180.5"), "currency": "usd"},
			{"sku": "f8a1db68-be16-40ed-86d5-cb42ce701560", "quantity": "10", "unitPrice": "119.9999", "currency": "EUR"},
			{"sku": "ENTERPRISEPACK", "quantity": 1},
		}
	}), "pat@doa.example.gov")
	if r.status != 201 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	list, _ := store.ListRequests(context.Background(), licensing.RequestFilter{})
	if len(list) != 1 || len(list[0].Lines) != 3 {
		t.Fatalf("requests = %+v", list)
	}
	var got []string
	for _, l := range list[0].Lines {
		p := "none"
		if l.UnitPrice != nil {
			p = l.UnitPrice.String() + " " + l.Currency
		}
		got = append(got, p)
	}
	if strings.Join(got, "; ") != "180.50 USD; 119.9999 EUR; none" {
		t.Errorf("line prices = %q", got)
	}
	if !strings.Contains(r.body, `"unitPrice":"180.50"`) {
		t.Errorf("the answer does not show the price as text: %s", r.body)
	}

	for _, tt := range []struct {
		name  string
		line  map[string]any
		field string
		says  string
	}{
		{"price without currency", map[string]any{"unitPrice": 10}, "lines[0].currency", "is missing"},
		{"currency without price", map[string]any{"currency": "USD"}, "lines[0].unitPrice", "is missing"},
		{"negative", map[string]any{"unitPrice": -10, "currency": "USD"}, "lines[0].unitPrice", "negative"},
		{"not a number", map[string]any{"unitPrice": "ten dollars", "currency": "USD"}, "lines[0].unitPrice", "is not a price"},
		{"over-precise", map[string]any{"unitPrice": json.Number("10.12345"), "currency": "USD"}, "lines[0].unitPrice", "more than 4 decimals"},
		{"a float's exponent", map[string]any{"unitPrice": json.Number("1e3"), "currency": "USD"}, "lines[0].unitPrice", "is not a price"},
		{"unknown currency", map[string]any{"unitPrice": 10, "currency": "DOLLARS"}, "lines[0].currency", "ISO 4217"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv, store := intakeServer(t, 0)
			line := map[string]any{"sku": "VISIOCLIENT", "quantity": 25}
			for k, v := range tt.line {
				line[k] = v
			}
			r := postIntake(t, srv, "PurchaseOrders", "purchase-orders", nil, "application/json",
				poJSON(func(m map[string]any) { m["lines"] = []map[string]any{line} }), "pat@doa.example.gov")
			if r.status != 422 || !strings.Contains(r.body, `"field":"`+tt.field+`"`) || !strings.Contains(r.body, tt.says) {
				t.Errorf("status %d, want 422 on %s saying %q: %s", r.status, tt.field, tt.says, r.body)
			}
			if list, _ := store.ListRequests(context.Background(), licensing.RequestFilter{}); len(list) != 0 || len(store.Files()) != 0 {
				t.Errorf("a refused purchase order wrote %d requests, %d files", len(list), len(store.Files()))
			}
		})
	}
}

// pricedFields are the intake form's fields with a unit price and currency
// after each row's quantity.
func pricedFields(prices map[string]string) [][2]string {
	var out [][2]string
	for _, f := range intakeFields() {
		out = append(out, f)
		if n, ok := strings.CutPrefix(f[0], "quantity-"); ok {
			out = append(out, [2]string{"unitPrice-" + n, prices["unitPrice-"+n]}, [2]string{"currency-" + n, prices["currency-"+n]})
		}
	}
	return out
}

// TestIntakeFormPrices sends the intake form with prices: a bad one comes
// back with its error next to the row's price field and nothing stored; a
// good one is kept, and the request's page shows it.
func TestIntakeFormPrices(t *testing.T) {
	s := newPagesSite(t)
	s.open("/requests/new", doaDelegate, http.StatusOK)
	ct, body := browserForm(t, s.tokens[doaDelegate], pricedFields(map[string]string{"unitPrice-1": "12,50", "currency-1": "USD", "unitPrice-2": "10"}), nil, bothFiles())
	rec := s.browse(http.MethodPost, "/requests/new", doaDelegate, ct, body)
	if rec.Code != http.StatusUnprocessableEntity {
		t.Fatalf("form with bad prices: %d\n%s", rec.Code, rec.Body)
	}
	doc := parsePage(t, rec)
	checkAccessible(t, doc)
	checkFieldError(t, doc, "unitPrice-1", "Line 1, unit price")
	checkFieldError(t, doc, "currency-2", "Line 2, currency is missing")
	if v := attr(byID(doc, "unitPrice-1"), "value"); v != "12,50" {
		t.Errorf("the price typed is not kept: %q", v)
	}
	if len(s.requests()) != 0 {
		t.Fatalf("a refused form stored a request")
	}

	ct, body = browserForm(t, s.tokens[doaDelegate], pricedFields(map[string]string{"unitPrice-1": "180", "currency-1": "USD"}), nil, bothFiles())
	rec = s.browse(http.MethodPost, "/requests/new", doaDelegate, ct, body)
	loc := rec.Header().Get("Location")
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("form with a price: %d\n%s", rec.Code, rec.Body)
	}
	id, _, _ := strings.Cut(strings.TrimPrefix(loc, "/requests/"), "?")
	page := s.open("/requests/"+id, doaDelegate, http.StatusOK)
	table := textOf(byID(page, "lines-table"))
	if !strings.Contains(table, "180.00 USD") || !strings.Contains(table, "not given") {
		t.Errorf("the request's products do not show the prices: %q", table)
	}
}
