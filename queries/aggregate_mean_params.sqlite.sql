SELECT model.name AS model, neuron.layer AS layer, count(*) AS n_neurons, count(atlas_value(s0.vals, neuron.unit % ?)) AS n_values, avg(atlas_value(s0.vals, neuron.unit % ?)) AS value 
FROM neuron JOIN model ON model.id = neuron.model_id LEFT OUTER JOIN score_vector AS s0 ON s0.set_id = ? AND s0.layer_id = neuron.layer_id AND s0.block = neuron.unit / ? 
WHERE neuron.model_id = ? AND neuron.site = ? AND neuron.layer BETWEEN ? AND ? GROUP BY model.name, neuron.layer ORDER BY model.name, neuron.layer
-- parameters: {'unit_1': 256, 'set_id_1': 254, 'unit_2': 256, 'model_id_1': 1, 'site_1': 'resid', 'layer_1': 2, 'layer_2': 5}
-- score sets read:
-- iou[alpha=0.01](noun) of bert: run 2, method row 7 {"alpha":0.01}
