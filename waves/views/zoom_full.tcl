# Opens a nicsim view on the whole run: from its start to its end (scripts/view_waves.sh).
gtkwave::/Edit/Set_Trace_Max_Hier 0
gtkwave::/Time/Zoom/Zoom_Full
