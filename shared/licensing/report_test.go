package licensing

import "testing"

func TestOverByAndTally(t *testing.T) {
	tests := []struct {
		purchased, inUse int
		over, available  int
		status           string
	}{
		{purchased: 10, inUse: 12, over: 2, available: -2, status: ProductOver},
		{purchased: 0, inUse: 3, over: 3, available: -3, status: ProductOver},
		{purchased: 10, inUse: 10, over: 0, available: 0, status: ProductOK},
		{purchased: 10, inUse: 4, over: 0, available: 6, status: ProductOK},
		{purchased: 10, inUse: 0, over: 0, available: 10, status: ProductUnused},
		{purchased: 0, inUse: 0, over: 0, available: 0, status: ProductUnused},
	}
	for _, tt := range tests {
		if got := OverBy(tt.purchased, tt.inUse); got != tt.over {
			t.Errorf("OverBy(%d, %d) = %d, want %d", tt.purchased, tt.inUse, got, tt.over)
		}
		l := ProductLine{Purchased: tt.purchased, InUse: tt.inUse}
		l.Tally()
		if l.Available != tt.available || l.Status != tt.status {
			t.Errorf("Tally of %d bought, %d in use: available %d, status %s; want %d, %s",
				tt.purchased, tt.inUse, l.Available, l.Status, tt.available, tt.status)
		}
	}
	r := AgencyReport{Products: []ProductLine{{Status: ProductOK}, {Status: ProductUnused}}}
	if r.Over() {
		t.Errorf("report without an Over product says Over")
	}
	r.Products = append(r.Products, ProductLine{Status: ProductOver})
	if !r.Over() {
		t.Errorf("report with an Over product does not say Over")
	}
}
